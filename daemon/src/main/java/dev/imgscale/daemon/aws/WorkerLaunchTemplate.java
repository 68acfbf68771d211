package dev.imgscale.daemon.aws;

import dev.imgscale.daemon.port.Fleet;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.LaunchTemplateBlockDeviceMappingRequest;
import software.amazon.awssdk.services.ec2.model.LaunchTemplateHttpTokensState;
import software.amazon.awssdk.services.ec2.model.LaunchTemplateInstanceMetadataEndpointState;
import software.amazon.awssdk.services.ec2.model.LaunchTemplateInstanceMetadataTagsState;
import software.amazon.awssdk.services.ec2.model.LaunchTemplateTagSpecificationRequest;
import software.amazon.awssdk.services.ec2.model.RequestLaunchTemplateData;
import software.amazon.awssdk.services.ec2.model.ResourceType;
import software.amazon.awssdk.services.ec2.model.ShutdownBehavior;
import software.amazon.awssdk.services.ec2.model.Tag;
import software.amazon.awssdk.services.ec2.model.TagSpecification;
import software.amazon.awssdk.services.ec2.model.VolumeType;

/**
 * The launch template EC2 Fleet launches workers from. EC2 Fleet takes user data, IMDSv2 and the
 * shutdown behaviour only from a launch template (its overrides carry type, subnet and AMI, nothing
 * else), so the fleet writes one from the explicit {@code ec2-*} parameters and what it always sets.
 *
 * <p>The template's name ends with a digest of its contents, {@code imgscale-<stack>-worker-<digest>}:
 * a template is never changed, a changed configuration gets a new one, and creating it again (a
 * restarted controller) finds it already there, so the fleet needs no DescribeLaunchTemplates or
 * version bookkeeping. One CreateLaunchTemplate per controller process and configuration. Templates
 * of earlier configurations stay (they cost nothing) until {@code destroy} deletes them all
 * ({@link StackLaunchTemplates}).
 */
final class WorkerLaunchTemplate {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerLaunchTemplate.class);
    static final String ALREADY_EXISTS = "InvalidLaunchTemplateName.AlreadyExistsException";

    private final Ec2Client ec2;
    private final Ec2FleetConfig config;
    private final String userData;
    private final List<Tag> tags;
    private final Supplier<String> rootDeviceName;
    private final Ec2Errors errors;
    private volatile String name;

    WorkerLaunchTemplate(Ec2Client ec2, Ec2FleetConfig config, String userData, List<Tag> tags,
                         Supplier<String> rootDeviceName, Ec2Errors errors) {
        this.ec2 = ec2;
        this.config = config;
        this.userData = userData;
        this.tags = tags;
        this.rootDeviceName = rootDeviceName;
        this.errors = errors;
    }

    /** The template's name, created first if this process has not yet done so. */
    String ensure() {
        String n = name;
        if (n != null) {
            return n;
        }
        synchronized (this) {
            if (name != null) {
                return name;
            }
            RequestLaunchTemplateData data = data();
            String candidate = "imgscale-" + config.stack() + "-worker-" + digest(data);
            try {
                ec2.createLaunchTemplate(b -> b.launchTemplateName(candidate)
                        .clientToken(candidate)
                        .launchTemplateData(data)
                        .tagSpecifications(TagSpecification.builder().resourceType(ResourceType.LAUNCH_TEMPLATE)
                                .tags(Tag.builder().key(Fleet.STACK_TAG).value(config.stack()).build(),
                                        Tag.builder().key(Fleet.ROLE_TAG).value(Fleet.ROLE_WORKER).build())
                                .build()));
                LOG.info("Created the workers' launch template {}", candidate);
            } catch (AwsServiceException e) {
                if (!ALREADY_EXISTS.equals(Ec2Errors.code(e))) {
                    throw errors.translate(e, "ec2:CreateLaunchTemplate");
                }
                // Same name, same digest: the same contents, written by an earlier controller.
                LOG.debug("Launch template {} exists already", candidate);
            }
            name = candidate;
            return candidate;
        }
    }

    /** What the template holds; the instance type and subnet come from EC2 Fleet's overrides. */
    RequestLaunchTemplateData data() {
        RequestLaunchTemplateData.Builder b = RequestLaunchTemplateData.builder()
                .imageId(config.ami())
                .securityGroupIds(config.securityGroups())
                .iamInstanceProfile(p -> {
                    if (config.instanceProfileIsArn()) {
                        p.arn(config.instanceProfile());
                    } else {
                        p.name(config.instanceProfile());
                    }
                })
                .metadataOptions(m -> m
                        .httpEndpoint(LaunchTemplateInstanceMetadataEndpointState.ENABLED)
                        .httpTokens(LaunchTemplateHttpTokensState.REQUIRED)
                        .httpPutResponseHopLimit(1)
                        .instanceMetadataTags(LaunchTemplateInstanceMetadataTagsState.ENABLED))
                .instanceInitiatedShutdownBehavior(ShutdownBehavior.TERMINATE)
                .userData(userData)
                // Volumes are tagged from here (EC2 Fleet's own tag specifications name only the fleet and its
                // instances); instances too, so the launch carries the stack's tags whichever EC2 evaluates.
                .tagSpecifications(
                        LaunchTemplateTagSpecificationRequest.builder().resourceType(ResourceType.INSTANCE).tags(tags).build(),
                        LaunchTemplateTagSpecificationRequest.builder().resourceType(ResourceType.VOLUME).tags(tags).build());
        if (config.keyName() != null) {
            b.keyName(config.keyName());
        }
        if (config.rootVolumeGib() != null) {
            b.blockDeviceMappings(LaunchTemplateBlockDeviceMappingRequest.builder()
                    .deviceName(rootDeviceName.get())
                    .ebs(e -> e.volumeSize(config.rootVolumeGib()).volumeType(VolumeType.GP3).deleteOnTermination(true))
                    .build());
        }
        return b.build();
    }

    /**
     * A digest of everything the template says. Not {@code data.toString()}: the SDK redacts user data
     * there, and a changed user data must make a new template.
     */
    private String digest(RequestLaunchTemplateData data) {
        String text = String.join("\n", data.imageId(), String.join(",", data.securityGroupIds()),
                String.valueOf(config.instanceProfile()), String.valueOf(config.keyName()),
                String.valueOf(config.rootVolumeGib()),
                config.rootVolumeGib() == null ? "" : data.blockDeviceMappings().get(0).deviceName(),
                userData, tags.toString(), "imdsv2-hop1-tags-terminate");
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
