package dev.imgscale.daemon.aws;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.port.FleetInstance;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.CreateFleetError;
import software.amazon.awssdk.services.ec2.model.CreateFleetInstance;
import software.amazon.awssdk.services.ec2.model.CreateFleetRequest;
import software.amazon.awssdk.services.ec2.model.CreateFleetResponse;
import software.amazon.awssdk.services.ec2.model.DefaultTargetCapacityType;
import software.amazon.awssdk.services.ec2.model.FleetLaunchTemplateOverridesRequest;
import software.amazon.awssdk.services.ec2.model.FleetOnDemandAllocationStrategy;
import software.amazon.awssdk.services.ec2.model.FleetType;
import software.amazon.awssdk.services.ec2.model.ResourceType;
import software.amazon.awssdk.services.ec2.model.SpotAllocationStrategy;
import software.amazon.awssdk.services.ec2.model.Tag;
import software.amazon.awssdk.services.ec2.model.TagSpecification;

/**
 * Launches workers from several capacity pools (every instance type in every subnet) with one EC2
 * Fleet call of type {@code instant}.
 *
 * <p>Why EC2 Fleet and not RunInstances once per pool: RunInstances has no allocation strategy, so
 * the fleet would pick pools blind, in a fixed order, and pay one call (and, for a pool without
 * capacity, one error and a retry by the SDK) per pool tried: with 3 types in 3 subnets, up to 9
 * calls for one launch when Spot is scarce, exactly when speed matters. One {@code instant}
 * CreateFleet asks every pool at once and lets EC2 choose with {@code price-capacity-optimized}
 * (the pools least likely to be interrupted, and among those the cheapest), which no client-side
 * order can do: the capacity data is EC2's. It is synchronous like RunInstances (the instances are
 * in the answer, no fleet is left to manage or delete), and it keeps a client token, so a retried
 * launch launches nothing more. Its errors differ: CreateFleet itself succeeds, and each pool that
 * could not launch is an entry in the answer's error list (code, lifecycle, type and subnet), so a
 * partly filled launch is a success with errors, not an exception. The price is a launch template
 * ({@link WorkerLaunchTemplate}, one call per controller process) and the ec2:CreateFleet and
 * ec2:CreateLaunchTemplate permissions.
 *
 * <p>On-Demand fallback: EC2 Fleet does not turn missing Spot into On-Demand itself. When Spot
 * launched fewer than asked, every pool's error says "no capacity" and {@code ec2-spot-fallback} is
 * on, a second CreateFleet asks On-Demand (lowest price) for the rest, under a token derived from
 * the first, so a retried launch repeats both calls and launches nothing twice.
 */
final class PoolLauncher {
    private static final Logger LOG = LoggerFactory.getLogger(PoolLauncher.class);

    /** What a pooled launch did: the instances, and the outcome to record. */
    record Result(List<FleetInstance> instances, int spot, int onDemand, boolean fellBack, String note) {
    }

    private final Ec2Client ec2;
    private final Ec2FleetConfig config;
    private final WorkerLaunchTemplate template;
    private final List<Tag> tags;
    private final Ec2Errors errors;
    private final String region;

    PoolLauncher(Ec2Client ec2, Ec2FleetConfig config, WorkerLaunchTemplate template, List<Tag> tags, Ec2Errors errors,
                 String region) {
        this.ec2 = ec2;
        this.config = config;
        this.template = template;
        this.tags = tags;
        this.errors = errors;
        this.region = region;
    }

    Result launch(int count, String clientToken) {
        String name = template.ensure();
        if (!config.spot()) {
            Answer od = call(count, clientToken, name, false);
            throwIfNothing(count, od, false);
            return new Result(od.instances, 0, od.instances.size(), false, od.summary());
        }
        Answer spot = call(count, clientToken, name, true);
        int missing = count - spot.instances.size();
        if (missing == 0) {
            return new Result(spot.instances, spot.instances.size(), 0, false, spot.summary());
        }
        if (!config.spotFallback() || !spot.onlyCapacityErrors()) {
            throwIfNothing(count, spot, true);
            LOG.warn("Spot launched {} of {} workers ({}); {}", spot.instances.size(), count, spot.summary(),
                    config.spotFallback() ? "not falling back: not a capacity shortage"
                            : Ec2FleetConfig.KEY_SPOT_FALLBACK + " is off, the controller will ask again later");
            return new Result(spot.instances, spot.instances.size(), 0, false, spot.summary());
        }
        LOG.warn("Spot launched {} of {} workers ({}); launching {} On-Demand ({})", spot.instances.size(), count,
                spot.summary(), missing, Ec2FleetConfig.KEY_SPOT_FALLBACK);
        Answer od = call(missing, fallbackToken(clientToken), name, false);
        throwIfNothing(missing, od, false);
        List<FleetInstance> all = new ArrayList<>(spot.instances);
        all.addAll(od.instances);
        String note = "Spot: " + spot.summary() + "; fell back to On-Demand for " + missing
                + (od.errors.isEmpty() ? "" : " (" + od.summary() + ")");
        return new Result(all, spot.instances.size(), od.instances.size(), true, note);
    }

    /**
     * The fallback's client token: derived, so a retry makes the same two calls, and different from
     * the Spot call's, which EC2 would otherwise answer with the Spot call's result. At most 64 characters.
     */
    static String fallbackToken(String clientToken) {
        String suffix = "-od";
        if (clientToken.length() + suffix.length() <= Ec2Fleet.MAX_TOKEN) {
            return clientToken + suffix;
        }
        String hash = Integer.toHexString(clientToken.hashCode());
        return clientToken.substring(0, Ec2Fleet.MAX_TOKEN - suffix.length() - hash.length() - 1) + "-" + hash + suffix;
    }

    /** The CreateFleet request; package-visible so tests can read what would be sent. */
    CreateFleetRequest request(int count, String clientToken, String templateName, boolean spot) {
        List<FleetLaunchTemplateOverridesRequest> overrides = new ArrayList<>();
        for (String subnet : config.subnets()) {
            if (config.instanceRequirements() != null) {
                overrides.add(FleetLaunchTemplateOverridesRequest.builder()
                        .instanceRequirements(config.instanceRequirements().toRequest()).subnetId(subnet).build());
            }
        }
        for (String type : config.instanceTypes()) {
            for (String subnet : config.subnets()) {
                overrides.add(FleetLaunchTemplateOverridesRequest.builder().instanceType(type).subnetId(subnet).build());
            }
        }
        CreateFleetRequest.Builder b = CreateFleetRequest.builder()
                .type(FleetType.INSTANT)
                .clientToken(clientToken)
                .launchTemplateConfigs(c -> c
                        .launchTemplateSpecification(s -> s.launchTemplateName(templateName).version("1"))
                        .overrides(overrides))
                .targetCapacitySpecification(t -> t.totalTargetCapacity(count)
                        .defaultTargetCapacityType(spot ? DefaultTargetCapacityType.SPOT : DefaultTargetCapacityType.ON_DEMAND)
                        .spotTargetCapacity(spot ? count : 0)
                        .onDemandTargetCapacity(spot ? 0 : count))
                .tagSpecifications(TagSpecification.builder().resourceType(ResourceType.INSTANCE).tags(tags).build(),
                        TagSpecification.builder().resourceType(ResourceType.FLEET).tags(tags).build());
        if (spot) {
            // Lowest interruption risk first, then price: what a worker that loses its batch on interruption wants.
            b.spotOptions(o -> o.allocationStrategy(SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED));
        } else {
            b.onDemandOptions(o -> o.allocationStrategy(FleetOnDemandAllocationStrategy.LOWEST_PRICE));
        }
        return b.build();
    }

    private Answer call(int count, String clientToken, String templateName, boolean spot) {
        CreateFleetResponse response;
        try {
            response = ec2.createFleet(request(count, clientToken, templateName, spot));
        } catch (AwsServiceException e) {
            throw errors.translate(e, "ec2:CreateFleet");
        }
        Map<String, String> requested = new LinkedHashMap<>();
        for (Tag t : tags) {
            requested.put(t.key(), t.value());
        }
        Instant now = Instant.now();
        List<FleetInstance> launched = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (CreateFleetInstance i : response.instances()) {
            for (String id : i.instanceIds()) {
                if (seen.add(id)) {
                    launched.add(new FleetInstance(id, FleetInstance.State.PENDING, now, requested));
                }
            }
        }
        Answer answer = new Answer(launched, response.errors(), spot);
        LOG.info("Launched {} {} (client token {}, fleet {}){}", seen, spot ? "Spot" : "On-Demand", clientToken,
                response.fleetId(), answer.errors.isEmpty() ? "" : "; " + answer.summary());
        return answer;
    }

    private void throwIfNothing(int count, Answer answer, boolean spot) {
        if (!answer.instances.isEmpty()) {
            return;
        }
        for (CreateFleetError e : answer.errors) {
            String code = e.errorCode() == null ? "" : e.errorCode();
            if (!Ec2Errors.NO_CAPACITY.contains(code)) {
                ImgscaleException fixable = errors.translate(code, e.errorMessage(), true, "ec2:CreateFleet", null);
                if (fixable != null) {
                    throw fixable;
                }
            }
        }
        boolean byAttributes = config.instanceRequirements() != null;
        String pools = byAttributes ? "the types of " + config.instanceRequirements() + " in " + String.join(",", config.subnets())
                : config.instanceTypes().size() * config.subnets().size() + " pools (" + String.join(",", config.instanceTypes())
                + " in " + String.join(",", config.subnets()) + ")";
        throw new ImgscaleException("EC2 has no " + (spot ? "Spot " : "On-Demand ") + "capacity for " + count + " worker"
                + (count == 1 ? "" : "s") + " in any of " + pools + " in " + region + ": "
                + answer.summary() + ". " + (byAttributes ? "Widen " + Ec2FleetConfig.KEY_INSTANCE_REQUIREMENTS + ", add"
                : "Add instance types to " + Ec2FleetConfig.KEY_INSTANCE_TYPES + " or") + " subnets in other Availability Zones"
                + (spot ? ", set " + Ec2FleetConfig.KEY_SPOT_FALLBACK : "") + ", or wait and retry.");
    }

    /** One CreateFleet answer. */
    private record Answer(List<FleetInstance> instances, List<CreateFleetError> errors, boolean spot) {
        boolean onlyCapacityErrors() {
            return !errors.isEmpty() && errors.stream().allMatch(e -> Ec2Errors.NO_CAPACITY.contains(e.errorCode()));
        }

        /** {@code 2 pools without capacity: InsufficientInstanceCapacity c7i.large subnet-a, ...}; first five. */
        String summary() {
            if (errors.isEmpty()) {
                return instances.size() + " launched";
            }
            List<String> parts = new ArrayList<>();
            for (CreateFleetError e : errors) {
                if (parts.size() == 5) {
                    parts.add("...");
                    break;
                }
                var o = e.launchTemplateAndOverrides() == null ? null : e.launchTemplateAndOverrides().overrides();
                parts.add(e.errorCode() + (o == null ? "" : " " + (o.instanceType() == null ? "by attributes"
                        : o.instanceTypeAsString()) + " " + o.subnetId()));
            }
            return instances.size() + " launched, " + errors.size() + " pool error" + (errors.size() == 1 ? "" : "s")
                    + ": " + String.join(", ", parts);
        }
    }
}
