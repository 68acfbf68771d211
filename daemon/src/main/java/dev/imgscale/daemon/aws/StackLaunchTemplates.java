package dev.imgscale.daemon.aws;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.port.Fleet;
import java.util.ArrayList;
import java.util.List;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.DescribeLaunchTemplatesResponse;
import software.amazon.awssdk.services.ec2.model.Filter;
import software.amazon.awssdk.services.ec2.model.LaunchTemplate;

/**
 * The launch templates a stack's controller wrote ({@link WorkerLaunchTemplate}: one per fleet
 * configuration, tagged with the stack), found by that tag and deleted when the stack is destroyed.
 * Found by tag, not by name prefix, so that a template the operator named (and gave the stack with
 * {@code ec2-launch-template}) is never deleted: only ours carry the role tag too.
 */
public final class StackLaunchTemplates {
    private StackLaunchTemplates() {
    }

    /**
     * Deletes the stack's worker templates; returns their names (empty when there were none).
     *
     * @throws ImgscaleException in one sentence when EC2 refuses (permissions, credentials)
     */
    public static List<String> delete(Ec2Client ec2, String stack) {
        List<LaunchTemplate> found = new ArrayList<>();
        try {
            String token = null;
            do {
                String page = token;
                DescribeLaunchTemplatesResponse r = ec2.describeLaunchTemplates(b -> b.nextToken(page).filters(
                        Filter.builder().name("tag:" + Fleet.STACK_TAG).values(stack).build(),
                        Filter.builder().name("tag:" + Fleet.ROLE_TAG).values(Fleet.ROLE_WORKER).build()));
                found.addAll(r.launchTemplates());
                token = r.nextToken();
            } while (token != null && !token.isEmpty());
            List<String> deleted = new ArrayList<>();
            for (LaunchTemplate t : found) {
                try {
                    ec2.deleteLaunchTemplate(b -> b.launchTemplateId(t.launchTemplateId()));
                    deleted.add(t.launchTemplateName());
                } catch (AwsServiceException e) {
                    // deleted meanwhile (a second destroy): gone is what we wanted
                    if (!String.valueOf(Ec2Errors.code(e)).startsWith("InvalidLaunchTemplateId")) {
                        throw e;
                    }
                }
            }
            return deleted;
        } catch (AwsServiceException e) {
            String code = Ec2Errors.code(e);
            if (Ec2Errors.DENIED.contains(code)) {
                throw new ImgscaleException("EC2 refused to list or delete the launch templates of stack " + stack + " (" + code
                        + "): allow ec2:DescribeLaunchTemplates and ec2:DeleteLaunchTemplate (examples/iam/stack-admin-policy.json).", e);
            }
            throw e;
        }
    }
}
