package dev.imgscale.daemon.aws;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.port.FleetInstance;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.BlockDeviceMapping;
import software.amazon.awssdk.services.ec2.model.HttpTokensState;
import software.amazon.awssdk.services.ec2.model.Instance;
import software.amazon.awssdk.services.ec2.model.InstanceInterruptionBehavior;
import software.amazon.awssdk.services.ec2.model.InstanceMetadataEndpointState;
import software.amazon.awssdk.services.ec2.model.InstanceMetadataTagsState;
import software.amazon.awssdk.services.ec2.model.MarketType;
import software.amazon.awssdk.services.ec2.model.ResourceType;
import software.amazon.awssdk.services.ec2.model.RunInstancesRequest;
import software.amazon.awssdk.services.ec2.model.RunInstancesResponse;
import software.amazon.awssdk.services.ec2.model.ShutdownBehavior;
import software.amazon.awssdk.services.ec2.model.SpotInstanceType;
import software.amazon.awssdk.services.ec2.model.Tag;
import software.amazon.awssdk.services.ec2.model.TagSpecification;
import software.amazon.awssdk.services.ec2.model.VolumeType;

/**
 * Launches workers of one instance type ({@code ec2-instance-type}, or a launch template's) with
 * RunInstances, one subnet after another: a launch starts at the subnet picked by its client token
 * (so a retried launch asks the same subnet again, and different launches spread over the list) and
 * moves on to the next when EC2 has no capacity or addresses there. Every request carries what the
 * fleet depends on: tags, IMDSv2 only, user data, shutdown behaviour "terminate", the client token.
 */
final class SubnetLauncher {
    private static final Logger LOG = LoggerFactory.getLogger(SubnetLauncher.class);

    private final Ec2Client ec2;
    private final Ec2FleetConfig config;
    private final String region;
    private final String userData;
    private final List<Tag> tags;
    private final Supplier<String> rootDeviceName;
    private final Ec2Errors errors;

    SubnetLauncher(Ec2Client ec2, Ec2FleetConfig config, String region, String userData, List<Tag> tags,
                   Supplier<String> rootDeviceName, Ec2Errors errors) {
        this.ec2 = ec2;
        this.config = config;
        this.region = region;
        this.userData = userData;
        this.tags = tags;
        this.rootDeviceName = rootDeviceName;
        this.errors = errors;
    }

    /** No subnet had capacity: an {@link ImgscaleException} the Spot fallback catches. */
    static final class NoCapacity extends ImgscaleException {
        final List<String> noRoom;

        NoCapacity(String message, List<String> noRoom, Throwable cause) {
            super(message, cause);
            this.noRoom = List.copyOf(noRoom);
        }
    }

    /**
     * RunInstances into each subnet in turn until one has room.
     *
     * @throws NoCapacity when no subnet had room
     */
    List<FleetInstance> launch(int count, String clientToken, boolean spot) {
        List<String> order = subnetOrder(clientToken);
        List<String> noRoom = new ArrayList<>();
        AwsServiceException last = null;
        for (String subnet : order) {
            try {
                return run(count, clientToken, subnet, spot);
            } catch (AwsServiceException e) {
                last = e;
                String code = Ec2Errors.code(e);
                if (Ec2Errors.NO_CAPACITY.contains(code)) {
                    LOG.warn("EC2 has no {} capacity for {} x {} in {} ({}){}", spot ? "Spot" : "On-Demand", count, describeType(),
                            subnet == null ? "the template's subnet" : subnet, code,
                            noRoom.size() + 1 < order.size() ? "; trying the next subnet" : "");
                    noRoom.add(subnet == null ? "the launch template's subnet" : subnet);
                } else if ("IdempotentParameterMismatch".equals(code)) {
                    // This token already launched, in another subnet (an earlier attempt moved on from
                    // this one): the subnet that launched it answers with those instances.
                    LOG.info("Client token {} was used with another subnet than {}; asking the next", clientToken, subnet);
                } else {
                    throw errors.translate(e, "ec2:RunInstances");
                }
            }
        }
        if (noRoom.isEmpty()) {
            throw new IllegalStateException("Client token " + clientToken + " was already used for a different launch:"
                    + " a token must name one launch", last);
        }
        throw new NoCapacity("EC2 has no capacity for " + count + " " + describeType() + (spot ? " Spot" : "")
                + " instance" + (count == 1 ? "" : "s") + " in " + String.join(", ", noRoom) + " (" + region
                + "): add subnets in other Availability Zones to " + Ec2FleetConfig.KEY_SUBNETS + ", list several types in "
                + Ec2FleetConfig.KEY_INSTANCE_TYPES + (spot ? ", set " + Ec2FleetConfig.KEY_SPOT_FALLBACK + ", turn off "
                + Ec2FleetConfig.KEY_SPOT : "") + ", or wait and retry.", noRoom, last);
    }

    /**
     * The subnets a launch with this token tries, in order; a single null when the launch template
     * chooses. The same token always starts at the same subnet, so a retried launch repeats the
     * first attempt's call, while launches with different tokens spread over the subnets.
     */
    List<String> subnetOrder(String clientToken) {
        List<String> subnets = config.subnets();
        List<String> order = new ArrayList<>();
        if (subnets.isEmpty()) {
            order.add(null);
            return order;
        }
        int start = Math.floorMod(clientToken.hashCode(), subnets.size());
        for (int i = 0; i < subnets.size(); i++) {
            order.add(subnets.get((start + i) % subnets.size()));
        }
        return order;
    }

    private List<FleetInstance> run(int count, String clientToken, String subnet, boolean spot) {
        RunInstancesRequest request = request(count, clientToken, subnet, spot);
        RunInstancesResponse response = ec2.runInstances(request);
        Map<String, String> requested = new LinkedHashMap<>();
        for (Tag t : tags) {
            requested.put(t.key(), t.value());
        }
        List<FleetInstance> launched = new ArrayList<>();
        for (Instance i : response.instances()) {
            Ec2Fleet.toFleetInstance(i, requested).ifPresent(launched::add);
        }
        LOG.info("Launched {} (client token {}{})", launched.stream().map(FleetInstance::id).toList(), clientToken,
                subnet == null ? "" : ", subnet " + subnet);
        return launched;
    }

    /** The RunInstances request; package-visible so tests can read what would be sent. */
    RunInstancesRequest request(int count, String clientToken, String subnet, boolean spot) {
        RunInstancesRequest.Builder b = RunInstancesRequest.builder()
                .minCount(count)
                .maxCount(count)
                .clientToken(clientToken)
                .tagSpecifications(
                        TagSpecification.builder().resourceType(ResourceType.INSTANCE).tags(tags).build(),
                        TagSpecification.builder().resourceType(ResourceType.VOLUME).tags(tags).build())
                .metadataOptions(m -> m
                        .httpEndpoint(InstanceMetadataEndpointState.ENABLED)
                        .httpTokens(HttpTokensState.REQUIRED)
                        // 1: only the host reaches IMDS, not a container or anything forwarded through it.
                        .httpPutResponseHopLimit(1)
                        // The worker can read its own imgscale:state tag without an API call.
                        .instanceMetadataTags(InstanceMetadataTagsState.ENABLED))
                .instanceInitiatedShutdownBehavior(ShutdownBehavior.TERMINATE)
                .userData(userData);
        if (subnet != null) {
            b.subnetId(subnet);
        }
        if (config.usesLaunchTemplate()) {
            b.launchTemplate(t -> {
                if (config.launchTemplateIsId()) {
                    t.launchTemplateId(config.launchTemplate());
                } else {
                    t.launchTemplateName(config.launchTemplate());
                }
                t.version(config.launchTemplateVersion());
            });
        } else {
            b.imageId(config.ami())
                    .instanceType(config.instanceType())
                    .securityGroupIds(config.securityGroups())
                    .iamInstanceProfile(p -> {
                        if (config.instanceProfileIsArn()) {
                            p.arn(config.instanceProfile());
                        } else {
                            p.name(config.instanceProfile());
                        }
                    });
            if (config.keyName() != null) {
                b.keyName(config.keyName());
            }
            if (config.rootVolumeGib() != null) {
                b.blockDeviceMappings(BlockDeviceMapping.builder()
                        .deviceName(rootDeviceName.get())
                        .ebs(e -> e.volumeSize(config.rootVolumeGib()).volumeType(VolumeType.GP3)
                                .deleteOnTermination(true))
                        .build());
            }
        }
        if (spot) {
            b.instanceMarketOptions(o -> o.marketType(MarketType.SPOT).spotOptions(s -> s
                    .spotInstanceType(SpotInstanceType.ONE_TIME)
                    .instanceInterruptionBehavior(InstanceInterruptionBehavior.TERMINATE)));
        }
        return b.build();
    }

    String describeType() {
        return config.usesLaunchTemplate() ? "launch template " + config.launchTemplate() : config.instanceType();
    }
}
