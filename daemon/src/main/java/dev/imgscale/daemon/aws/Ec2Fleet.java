package dev.imgscale.daemon.aws;

import dev.imgscale.daemon.port.Fleet;
import dev.imgscale.daemon.port.FleetInstance;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.ThreadSafe;
import java.time.Instant;
import dev.imgscale.daemon.port.LaunchOutcome;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.Filter;
import software.amazon.awssdk.services.ec2.model.Image;
import software.amazon.awssdk.services.ec2.model.Instance;
import software.amazon.awssdk.services.ec2.model.InstanceStateName;
import software.amazon.awssdk.services.ec2.model.Reservation;
import software.amazon.awssdk.services.ec2.model.Tag;

/**
 * {@link Fleet} on EC2. The instances' tags are the fleet's only record: {@code imgscale:stack},
 * {@code imgscale:role=worker} and {@code imgscale:state} ({@code running} or {@code draining}), so a
 * restarted controller rebuilds its view from {@link #list()} alone.
 *
 * <p>Launches of one instance type are RunInstances calls with the caller's client token, so a launch
 * retried after a timeout or a controller crash returns the first call's instances instead of new
 * ones; launches over several types ({@code ec2-instance-types}) are one EC2 Fleet call, with the
 * same token, through {@link PoolLauncher} (why that and not RunInstances per pool: see there). Every
 * instance gets IMDSv2 only (hop limit 1, tags readable from instance metadata), shutdown behaviour
 * "terminate" (a worker that exits powers its instance off, which ends it and its bill) and user
 * data that names only the stack's SSM path ({@link UserData}).
 *
 * <p>Subnets ({@link SubnetLauncher}): a launch starts at the subnet picked by its client token (so a retried launch asks
 * the same subnet again, and different launches spread over the list) and moves on to the next when
 * EC2 has no capacity or addresses there. Spot launches become On-Demand ones when Spot has no
 * capacity in any subnet (or pool) only with {@code ec2-spot-fallback}: a cost decision the operator
 * makes. Each launch's outcome (markets, fallback) is kept for {@link #recentLaunches()}.
 *
 * <p>Failures the user can fix (permissions, a missing AMI, subnet, security group or template,
 * an account quota) become an {@link ImgscaleException} of one sentence; anything else is thrown
 * as the SDK reports it.
 */
@ThreadSafe
public final class Ec2Fleet implements Fleet {
    private static final Logger LOG = LoggerFactory.getLogger(Ec2Fleet.class);

    /** States of an instance that still exists for the controller: booting, working, or on its way out. */
    static final List<String> LISTED_STATES = List.of("pending", "running", "stopping", "shutting-down");
    /** States worth a TerminateInstances call (shutting-down and terminated ones are already going). */
    static final List<String> TERMINABLE_STATES = List.of("pending", "running", "stopping", "stopped");

    /** EC2 caps a client token at 64 ASCII characters. */
    static final int MAX_TOKEN = 64;
    /** Filter values and instance ids per call: far below EC2's limits, and a fleet is small. */
    static final int CHUNK = 100;
    /** DescribeInstances page size (EC2 allows 5 to 1000 with filters). */
    static final int PAGE = 1000;

    /** Launch outcomes kept for {@link #recentLaunches()}. */
    static final int KEPT_LAUNCHES = 20;

    private final Ec2Client ec2;
    private final Ec2FleetConfig config;
    private final String region;
    private final String userData;
    private final Ec2Errors errors;
    /** Null unless {@link Ec2FleetConfig#usesPools()}. */
    private final PoolLauncher pools;
    private final SubnetLauncher subnets;
    private final LaunchLog launches = new LaunchLog(KEPT_LAUNCHES);
    /** The AMI's root device name, looked up once when a root volume size is configured. */
    private volatile String rootDeviceName;

    /**
     * @param ec2    the client from {@link dev.imgscale.daemon.aws.AwsClients#ec2()}, for the stack's region
     * @param config how to launch
     */
    public Ec2Fleet(Ec2Client ec2, Ec2FleetConfig config) {
        this.ec2 = Objects.requireNonNull(ec2, "ec2");
        this.config = Objects.requireNonNull(config, "config");
        this.region = String.valueOf(ec2.serviceClientConfiguration().region());
        this.userData = UserData.base64(config.stack(), config.idleExit());
        this.errors = new Ec2Errors(config, region);
        this.pools = config.usesPools() ? new PoolLauncher(ec2, config,
                new WorkerLaunchTemplate(ec2, config, userData, tags(), this::rootDeviceName, errors), tags(), errors,
                region) : null;
        this.subnets = new SubnetLauncher(ec2, config, region, userData, tags(), this::rootDeviceName, errors);
    }

    /** The subnets a launch with this token tries, in order (see {@link SubnetLauncher#subnetOrder}). */
    List<String> subnetOrder(String clientToken) {
        return subnets.subnetOrder(clientToken);
    }

    @Override
    public String kind() {
        return "ec2";
    }

    public Ec2FleetConfig config() {
        return config;
    }

    @Override
    public List<FleetInstance> list() {
        return describe(LISTED_STATES, List.of(), "ec2:DescribeInstances");
    }

    /**
     * {@inheritDoc}
     *
     * @throws ImgscaleException when EC2 refuses for a reason the user can fix, or has no capacity in any subnet
     */
    @Override
    public List<FleetInstance> launch(int count, String clientToken) {
        checkLaunch(count, clientToken);
        try {
            return launchAndRecord(count, clientToken);
        } catch (ImgscaleException e) {
            // A launch that got nothing is news for status too ("no Spot capacity in any pool").
            record(new LaunchOutcome(Instant.now(), clientToken, count, 0, 0, false, "failed: " + e.getMessage()));
            throw e;
        }
    }

    private List<FleetInstance> launchAndRecord(int count, String clientToken) {
        if (pools != null) {
            PoolLauncher.Result r = pools.launch(count, clientToken);
            record(new LaunchOutcome(Instant.now(), clientToken, count, r.spot(), r.onDemand(), r.fellBack(), r.note()));
            return r.instances();
        }
        if (!config.spot() || !config.spotFallback()) {
            List<FleetInstance> launched = subnets.launch(count, clientToken, config.spot());
            record(new LaunchOutcome(Instant.now(), clientToken, count, config.spot() ? launched.size() : 0,
                    config.spot() ? 0 : launched.size(), false, ""));
            return launched;
        }
        try {
            List<FleetInstance> launched = subnets.launch(count, clientToken, true);
            record(new LaunchOutcome(Instant.now(), clientToken, count, launched.size(), 0, false, ""));
            return launched;
        } catch (SubnetLauncher.NoCapacity e) {
            LOG.warn("No Spot capacity for {} x {} in {}; launching On-Demand instead ({})", count, subnets.describeType(),
                    String.join(", ", e.noRoom), Ec2FleetConfig.KEY_SPOT_FALLBACK);
            List<FleetInstance> launched = subnets.launch(count, PoolLauncher.fallbackToken(clientToken), false);
            record(new LaunchOutcome(Instant.now(), clientToken, count, 0, launched.size(), true,
                    "no Spot capacity in " + String.join(", ", e.noRoom) + "; fell back to On-Demand"));
            return launched;
        }
    }

    /** The last {@value #KEPT_LAUNCHES} launches, oldest first. */
    @Override
    public List<LaunchOutcome> recentLaunches() {
        return launches.list();
    }

    private void record(LaunchOutcome outcome) {
        launches.add(outcome);
    }


    private static void checkLaunch(int count, String clientToken) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be at least 1: " + count);
        }
        if (clientToken == null || clientToken.isEmpty() || clientToken.length() > MAX_TOKEN
                || !clientToken.chars().allMatch(c -> c > 32 && c < 127)) {
            throw new IllegalArgumentException("clientToken must be 1-" + MAX_TOKEN + " printable ASCII characters: "
                    + clientToken);
        }
    }



    @Override
    public void markDraining(Collection<String> ids, boolean draining) {
        Tag tag = tag(STATE_TAG, draining ? STATE_DRAINING : STATE_RUNNING);
        for (List<String> chunk : chunks(ids)) {
            tagChunk(chunk, tag);
        }
    }

    private void tagChunk(List<String> ids, Tag tag) {
        try {
            ec2.createTags(b -> b.resources(ids).tags(tag));
        } catch (AwsServiceException e) {
            if (!Ec2Errors.NOT_FOUND.equals(Ec2Errors.code(e))) {
                throw errors.translate(e, "ec2:CreateTags");
            }
            if (ids.size() == 1) {
                LOG.info("Instance {} is gone; not tagging it {}", ids.get(0), tag.value());
                return;
            }
            // One missing instance fails the whole call: split until the missing ones are alone.
            tagChunk(ids.subList(0, ids.size() / 2), tag);
            tagChunk(ids.subList(ids.size() / 2, ids.size()), tag);
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Only instances that carry this stack's worker tags are terminated: an id from elsewhere
     * (another stack, a bug) is logged and left alone. The controller's IAM policy should say the
     * same with a tag condition; this check keeps it true under a broader policy too.
     */
    @Override
    public void terminate(Collection<String> ids) {
        if (ids.isEmpty()) {
            return;
        }
        Set<String> asked = new LinkedHashSet<>(ids);
        Set<String> ours = new LinkedHashSet<>();
        for (List<String> chunk : chunks(asked)) {
            for (FleetInstance i : describe(TERMINABLE_STATES, chunk, "ec2:DescribeInstances")) {
                ours.add(i.id());
            }
        }
        for (String id : asked) {
            if (!ours.contains(id)) {
                LOG.info("Not terminating {}: not a live worker of stack {} (already gone, or not ours)", id,
                        config.stack());
            }
        }
        for (List<String> chunk : chunks(ours)) {
            terminateChunk(chunk);
        }
    }

    private void terminateChunk(List<String> ids) {
        try {
            ec2.terminateInstances(b -> b.instanceIds(ids));
            LOG.info("Terminated {}", ids);
        } catch (AwsServiceException e) {
            if (!Ec2Errors.NOT_FOUND.equals(Ec2Errors.code(e))) {
                throw errors.translate(e, "ec2:TerminateInstances");
            }
            if (ids.size() == 1) {
                LOG.info("Instance {} is already gone", ids.get(0));
                return;
            }
            // One missing instance fails the whole call: terminate the others.
            terminateChunk(ids.subList(0, ids.size() / 2));
            terminateChunk(ids.subList(ids.size() / 2, ids.size()));
        }
    }

    private List<FleetInstance> describe(List<String> states, List<String> onlyIds, String action) {
        List<Filter> filters = new ArrayList<>(List.of(
                filter("tag:" + STACK_TAG, List.of(config.stack())),
                filter("tag:" + ROLE_TAG, List.of(ROLE_WORKER)),
                filter("instance-state-name", states)));
        if (!onlyIds.isEmpty()) {
            // A filter, not InstanceIds: InstanceIds fails the whole call when one of them is gone.
            filters.add(filter("instance-id", onlyIds));
        }
        List<FleetInstance> out = new ArrayList<>();
        try {
            for (var page : ec2.describeInstancesPaginator(b -> b.filters(filters).maxResults(PAGE))) {
                for (Reservation r : page.reservations()) {
                    for (Instance i : r.instances()) {
                        toFleetInstance(i, Map.of()).ifPresent(out::add);
                    }
                }
            }
        } catch (AwsServiceException e) {
            throw errors.translate(e, action);
        }
        return out;
    }



    /**
     * The AMI's root device ({@code /dev/xvda} on Amazon Linux 2023, but not on every AMI): a block
     * device mapping under another name would add a second, empty volume instead of resizing the root.
     */
    private String rootDeviceName() {
        String name = rootDeviceName;
        if (name == null) {
            List<Image> images;
            try {
                images = ec2.describeImages(b -> b.imageIds(config.ami())).images();
            } catch (AwsServiceException e) {
                throw errors.translate(e, "ec2:DescribeImages");
            }
            if (images.isEmpty() || images.get(0).rootDeviceName() == null) {
                throw errors.amiNotFound(null);
            }
            name = images.get(0).rootDeviceName();
            rootDeviceName = name;
        }
        return name;
    }

    private List<Tag> tags() {
        return List.of(
                tag("Name", config.instanceName()),
                tag(STACK_TAG, config.stack()),
                tag(ROLE_TAG, ROLE_WORKER),
                tag(STATE_TAG, STATE_RUNNING));
    }

    static Optional<FleetInstance> toFleetInstance(Instance i, Map<String, String> fallbackTags) {
        FleetInstance.State state = switch (i.state() == null ? InstanceStateName.PENDING : i.state().name()) {
            case PENDING -> FleetInstance.State.PENDING;
            case RUNNING -> FleetInstance.State.RUNNING;
            case TERMINATED -> null;
            default -> FleetInstance.State.STOPPING;
        };
        if (state == null) {
            return Optional.empty();
        }
        // RunInstances may answer without the tags it was asked to apply; what was asked is what they are.
        Map<String, String> tags = new LinkedHashMap<>(fallbackTags);
        for (Tag t : i.tags()) {
            tags.put(t.key(), t.value());
        }
        Instant launched = i.launchTime() == null ? Instant.EPOCH : i.launchTime();
        return Optional.of(new FleetInstance(i.instanceId(), state, launched, tags));
    }


    static Tag tag(String key, String value) {
        return Tag.builder().key(key).value(value).build();
    }

    private static Filter filter(String name, List<String> values) {
        return Filter.builder().name(name).values(values).build();
    }

    private static List<List<String>> chunks(Collection<String> ids) {
        List<String> all = List.copyOf(new LinkedHashSet<>(ids));
        List<List<String>> out = new ArrayList<>();
        for (int i = 0; i < all.size(); i += CHUNK) {
            out.add(all.subList(i, Math.min(all.size(), i + CHUNK)));
        }
        return out;
    }
}
