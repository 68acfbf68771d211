package dev.imgscale.daemon.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.ImgscaleException;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.ec2.model.ResourceType;
import software.amazon.awssdk.services.ec2.model.Tag;
import software.amazon.awssdk.services.ec2.model.TagSpecification;

/**
 * {@code destroy}'s clean-up of the workers' launch templates, at the SDK's HTTP boundary: the ones
 * the fleet wrote for this stack go, another stack's and a template the operator made stay.
 */
class StackLaunchTemplatesTest extends Ec2BoundaryFixture {
    @Test
    void should_delete_the_templates_the_fleet_wrote_for_this_stack_and_no_other() {
        Ec2FleetConfig config = pools();
        new Ec2Fleet(clients.ec2(), config).launch(1, "t-1"); // writes this stack's template
        new Ec2Fleet(clients.ec2(), config.withIdleExit(java.time.Duration.ofMinutes(9))).launch(1, "t-2"); // a changed configuration: a second
        clients.ec2().createLaunchTemplate(b -> b.launchTemplateName("my-own-template")
                .launchTemplateData(d -> d.imageId("ami-0123456789abcdef0"))
                .tagSpecifications(TagSpecification.builder().resourceType(ResourceType.LAUNCH_TEMPLATE)
                        .tags(Tag.builder().key("imgscale:stack").value(config.stack()).build()).build()));
        Set<String> before = ec2.templates().keySet();
        assertEquals(3, before.size(), ec2.transcript());

        List<String> deleted = StackLaunchTemplates.delete(clients.ec2(), config.stack());

        assertEquals(2, deleted.size(), ec2.transcript());
        assertTrue(deleted.stream().allMatch(n -> n.startsWith("imgscale-" + config.stack() + "-worker-")), deleted.toString());
        assertEquals(Set.of("my-own-template"), ec2.templates().keySet(), "the operator's template stays");
        assertEquals(List.of(), StackLaunchTemplates.delete(clients.ec2(), "other-stack"));
        assertEquals(List.of(), StackLaunchTemplates.delete(clients.ec2(), config.stack()), "harmless twice");
    }

    @Test
    void should_say_which_permission_is_missing() {
        ec2.failNext("DescribeLaunchTemplates", "UnauthorizedOperation", "You are not authorized to perform this operation.");

        ImgscaleException e = assertThrows(ImgscaleException.class, () -> StackLaunchTemplates.delete(clients.ec2(), "demo"));

        assertTrue(e.getMessage().contains("ec2:DescribeLaunchTemplates"), e.getMessage());
    }
}
