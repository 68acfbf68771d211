package dev.imgscale.daemon.aws;

import com.sun.net.httpserver.HttpExchange;
import dev.imgscale.daemon.aws.AwsSettings.Service;
import dev.imgscale.daemon.testing.LoopbackHttpServer;
import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * EC2 on loopback for tests: nothing embeddable emulates EC2, and the SDK's own client must be the
 * one under test, so this speaks the wire protocol the SDK speaks (the EC2 query protocol:
 * form-encoded POSTs, {@code Action=RunInstances&...}; XML answers). It RECORDS every call (action
 * and decoded parameters) and ANSWERS from an in-memory instance table:
 * <ul>
 *   <li>RunInstances creates MinCount instances in state {@code pending}, tagged from the
 *       {@code instance} TagSpecification; a ClientToken seen before answers with the instances it
 *       created and creates nothing (different parameters: IdempotentParameterMismatch, as EC2);</li>
 *   <li>DescribeInstances honours the {@code tag:K}, {@code instance-state-name} and
 *       {@code instance-id} filters (any other filter is refused, so a typo fails loudly) and
 *       paginates with MaxResults/NextToken; a new instance is reported {@code pending} by
 *       {@link #describesWhilePending} listings (first pages), then {@code running};</li>
 *   <li>CreateTags updates tags; TerminateInstances removes instances from the table; both refuse
 *       the whole call with InvalidInstanceID.NotFound when one id is unknown, as EC2 does;</li>
 *   <li>DescribeImages answers for images added with {@link #addImage}.</li>
 *   <li>CreateLaunchTemplate stores a template by name (a second one of that name:
 *       InvalidLaunchTemplateName.AlreadyExistsException, as EC2);</li>
 *   <li>CreateFleet ({@code instant} only, from a stored template) walks the overrides in order,
 *       as price-capacity-optimized would pick the pool that has room, launches what each pool
 *       holds ({@link #spotCapacityPerPool}; unlimited by default) until the target is met, and
 *       reports every pool short of room as an entry of the answer's error list (lifecycle, type,
 *       subnet), not as a failed call; a ClientToken seen before answers as the first call did.</li>
 * </ul>
 * Failures are injected with {@link #failNext} (one call), {@link #noCapacityIn} (a subnet, until
 * {@link #restoreCapacityIn}) and {@link #noSpotCapacity} (every Spot pool of CreateFleet and RunInstances).
 *
 * <p>Reusable by other tests of the package (the controller's): {@link #calls(String)} for the
 * API calls made, {@link #instances()} for the live table.
 */
final class RecordingEc2Endpoint implements AutoCloseable {

    /** One recorded API call: the action and its decoded form parameters, in the order sent. */
    record Call(String action, Map<String, String> params) {
        String param(String name) {
            return params.get(name);
        }

        int intParam(String name) {
            return Integer.parseInt(params.get(name));
        }

        /** The values of a numbered list: {@code list("InstanceId")} reads InstanceId.1, InstanceId.2, .... */
        List<String> list(String prefix) {
            return RecordingEc2Endpoint.list(params, prefix);
        }

        /** Tags under a prefix: {@code tags("TagSpecification.1.Tag")} reads .N.Key / .N.Value. */
        Map<String, String> tags(String prefix) {
            return RecordingEc2Endpoint.tags(params, prefix);
        }

        /** The tags of the TagSpecification for a resource type ({@code instance}, {@code volume}); null if none. */
        Map<String, String> tagSpecification(String resourceType) {
            for (int n = 1; params.containsKey("TagSpecification." + n + ".ResourceType"); n++) {
                if (resourceType.equals(params.get("TagSpecification." + n + ".ResourceType"))) {
                    return tags("TagSpecification." + n + ".Tag");
                }
            }
            return null;
        }

        /** Filter name to values, for DescribeInstances. */
        Map<String, List<String>> filters() {
            Map<String, List<String>> out = new LinkedHashMap<>();
            for (int n = 1; params.containsKey("Filter." + n + ".Name"); n++) {
                out.put(params.get("Filter." + n + ".Name"), list("Filter." + n + ".Value"));
            }
            return out;
        }

        @Override
        public String toString() {
            return action + " " + params;
        }
    }

    /** A snapshot of one instance of the table. */
    record Ec2Instance(String id, String state, Instant launchTime, Map<String, String> tags, String clientToken,
                       String subnetId, String imageId, String instanceType, boolean spot) {
    }

    static final String ACCOUNT = "123456789012";
    static final String REGION = "us-east-1";
    /** The type CreateFleet launches for an override with InstanceRequirements instead of a type. */
    static final String BY_ATTRIBUTES = "m7i.large";

    private final LoopbackHttpServer server;
    private final List<Call> calls = new CopyOnWriteArrayList<>();
    private final AtomicLong ids = new AtomicLong(0x0a11ce0000000L);

    // The table and everything else below is guarded by "this".
    private final Map<String, Row> table = new LinkedHashMap<>();
    private final Map<String, Reservation> byToken = new HashMap<>();
    private final Map<String, String> images = new HashMap<>();
    private final Map<String, Deque<Failure>> failures = new HashMap<>();
    private final Set<String> noCapacity = new HashSet<>();
    private final Map<String, Map<String, String>> templates = new LinkedHashMap<>();
    private final Map<String, String> templateIds = new LinkedHashMap<>();
    private final Map<String, FleetAnswer> fleetsByToken = new HashMap<>();
    private boolean spotScarce;
    private int spotPerPool = Integer.MAX_VALUE;

    /** Listings (first-page DescribeInstances calls) that report a new instance pending before it runs. */
    volatile int describesWhilePending = 1;
    /** Instances per DescribeInstances page, below the request's MaxResults (smaller forces NextToken). */
    volatile int pageSize = 1000;

    private static final class Row {
        final String id;
        final String reservationId;
        final Instant launchTime;
        final Map<String, String> tags;
        final String clientToken;
        final String subnetId;
        final String imageId;
        final String instanceType;
        final boolean spot;
        String state;
        int pendingDescribes;

        Row(String id, String reservationId, String state, Map<String, String> tags, String clientToken, String subnetId,
            String imageId, String instanceType, boolean spot) {
            this.id = id;
            this.reservationId = reservationId;
            this.launchTime = Instant.now().truncatedTo(ChronoUnit.MILLIS);
            this.state = state;
            this.tags = new LinkedHashMap<>(tags);
            this.clientToken = clientToken;
            this.subnetId = subnetId;
            this.imageId = imageId;
            this.instanceType = instanceType;
            this.spot = spot;
        }

        Ec2Instance snapshot() {
            return new Ec2Instance(id, state, launchTime, Collections.unmodifiableMap(new LinkedHashMap<>(tags)),
                    clientToken, subnetId, imageId, instanceType, spot);
        }
    }

    private record Reservation(String id, Map<String, String> params, List<Row> rows) {
    }

    private record Failure(int status, String code, String message) {
    }

    private record FleetAnswer(Map<String, String> params, String xml) {
    }

    private RecordingEc2Endpoint() throws IOException {
        server = new LoopbackHttpServer(this::handle);
    }

    /** Starts an endpoint on 127.0.0.1 at a free port. */
    static RecordingEc2Endpoint start() throws IOException {
        RecordingEc2Endpoint endpoint = new RecordingEc2Endpoint();
        endpoint.server.start();
        return endpoint;
    }

    URI uri() {
        return server.uri();
    }

    /** Client settings that send EC2 here: region us-east-1, dummy static credentials. */
    AwsSettings settings() {
        return AwsSettings.forEndpoints(REGION, Map.of(Service.EC2, uri()),
                new AwsSettings.StaticCredentials("AKIDFAKEEC2", "fake-secret", null));
    }

    /** Every call so far, in order. */
    List<Call> calls() {
        return List.copyOf(calls);
    }

    /** The calls of one action ({@code RunInstances}, {@code DescribeInstances}, ...), in order. */
    List<Call> calls(String action) {
        return calls.stream().filter(c -> c.action().equals(action)).toList();
    }

    /** Forgets the recorded calls (not the table). */
    void clearCalls() {
        calls.clear();
    }

    /** The live table (terminated instances are gone from it), in launch order. */
    synchronized List<Ec2Instance> instances() {
        return table.values().stream().map(Row::snapshot).toList();
    }

    /** One instance of the table, or null. */
    synchronized Ec2Instance instance(String id) {
        Row row = table.get(id);
        return row == null ? null : row.snapshot();
    }

    /** Puts an instance into the table directly (another stack's, a stray one); returns its id. */
    synchronized String addInstance(String state, Map<String, String> tags) {
        String id = newInstanceId();
        table.put(id, new Row(id, newReservationId(), state, tags, null, null, "ami-0000000000other", "t3.micro", false));
        return id;
    }

    /** Changes an instance's state (e.g. to {@code stopping} or {@code shutting-down}). */
    synchronized void setState(String id, String state) {
        table.get(id).state = state;
    }

    /** Makes DescribeImages know an image and its root device. */
    synchronized void addImage(String imageId, String rootDeviceName) {
        images.put(imageId, rootDeviceName);
    }

    /** RunInstances into this subnet fails with InsufficientInstanceCapacity (HTTP 500, as EC2) until restored. */
    synchronized void noCapacityIn(String subnetId) {
        noCapacity.add(subnetId);
    }

    /** Spot has no capacity in any pool (CreateFleet: per-pool errors; RunInstances: InsufficientInstanceCapacity). */
    synchronized void noSpotCapacity() {
        spotScarce = true;
    }

    /** Each Spot pool of a CreateFleet call launches at most this many instances; the rest is asked of the next pool. */
    synchronized void spotCapacityPerPool(int n) {
        spotPerPool = n;
    }

    /** The launch templates created, by name: their decoded CreateLaunchTemplate parameters. */
    synchronized Map<String, Map<String, String>> templates() {
        return Map.copyOf(templates);
    }

    /** Undoes {@link #noCapacityIn}. */
    synchronized void restoreCapacityIn(String subnetId) {
        noCapacity.remove(subnetId);
    }

    /**
     * The next call of {@code action} fails with this EC2 error code; the HTTP status is EC2's for it
     * (403 UnauthorizedOperation, 500 for capacity errors, which the SDK retries, else 400).
     */
    synchronized void failNext(String action, String code, String message) {
        int status = code.equals("UnauthorizedOperation") ? 403 : code.startsWith("Insufficient") ? 500 : 400;
        failures.computeIfAbsent(action, a -> new ArrayDeque<>()).add(new Failure(status, code, message));
    }

    /** All calls, one per line, for failure messages. */
    String transcript() {
        StringBuilder out = new StringBuilder();
        for (Call c : calls) {
            out.append(c).append('\n');
        }
        return out.toString();
    }

    @Override
    public void close() {
        server.close();
    }

    // ---- the protocol ----

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            Map<String, String> params = decodeForm(LoopbackHttpServer.body(exchange));
            String action = params.getOrDefault("Action", "");
            Map<String, String> recorded = new LinkedHashMap<>(params);
            recorded.remove("Action");
            recorded.remove("Version");
            calls.add(new Call(action, Collections.unmodifiableMap(recorded)));
            Answer answer;
            synchronized (this) {
                Deque<Failure> queued = failures.get(action);
                Failure failure = queued == null ? null : queued.poll();
                if (failure != null) {
                    answer = error(failure.status(), failure.code(), failure.message());
                } else {
                    answer = switch (action) {
                        case "RunInstances" -> runInstances(recorded);
                        case "DescribeInstances" -> describeInstances(recorded);
                        case "CreateTags" -> createTags(recorded);
                        case "TerminateInstances" -> terminateInstances(recorded);
                        case "DescribeImages" -> describeImages(recorded);
                        case "CreateLaunchTemplate" -> createLaunchTemplate(recorded);
                        case "DescribeLaunchTemplates" -> describeLaunchTemplates(recorded);
                        case "DeleteLaunchTemplate" -> deleteLaunchTemplate(recorded);
                        case "CreateFleet" -> createFleet(recorded);
                        default -> error(400, "InvalidAction", "The action " + action + " is not valid for this web service.");
                    };
                }
            }
            LoopbackHttpServer.reply(exchange, answer.status(), "text/xml;charset=UTF-8", answer.xml().getBytes(StandardCharsets.UTF_8));
        }
    }

    private record Answer(int status, String xml) {
    }

    private Answer runInstances(Map<String, String> p) {
        String token = p.get("ClientToken");
        if (token != null && byToken.containsKey(token)) {
            Reservation r = byToken.get(token);
            if (!r.params().equals(p)) {
                return error(400, "IdempotentParameterMismatch",
                        "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).");
            }
            return ok("RunInstancesResponse", reservationBody(r.id(), r.rows()));
        }
        String subnet = p.get("SubnetId");
        if ((subnet != null && noCapacity.contains(subnet))
                || (spotScarce && "spot".equals(p.get("InstanceMarketOptions.MarketType")))) {
            return error(500, "InsufficientInstanceCapacity", "We currently do not have sufficient " + p.get("InstanceType")
                    + " capacity in the Availability Zone of " + subnet + ".");
        }
        if (p.get("MinCount") == null || p.get("MaxCount") == null) {
            return error(400, "MissingParameter", "The request must contain the parameter MinCount and MaxCount");
        }
        String template = p.getOrDefault("LaunchTemplate.LaunchTemplateId", p.get("LaunchTemplate.LaunchTemplateName"));
        String image = p.get("ImageId");
        if (image == null && template == null) {
            return error(400, "MissingParameter", "The request must contain the parameter ImageId");
        }
        int count = Integer.parseInt(p.get("MinCount"));
        Map<String, String> tags = new Call("RunInstances", p).tagSpecification("instance");
        String reservationId = newReservationId();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String id = newInstanceId();
            Row row = new Row(id, reservationId, "pending", tags == null ? Map.of() : tags, token, subnet,
                    image == null ? "ami-fromtemplate00" : image, p.getOrDefault("InstanceType", "from-template"),
                    "spot".equals(p.get("InstanceMarketOptions.MarketType")));
            table.put(id, row);
            rows.add(row);
        }
        if (token != null) {
            byToken.put(token, new Reservation(reservationId, Map.copyOf(p), rows));
        }
        return ok("RunInstancesResponse", reservationBody(reservationId, rows));
    }

    private Answer createLaunchTemplate(Map<String, String> p) {
        String name = p.get("LaunchTemplateName");
        if (name == null || p.get("LaunchTemplateData.ImageId") == null && p.get("LaunchTemplateData.UserData") == null) {
            return error(400, "MissingParameter", "The request must contain LaunchTemplateName and LaunchTemplateData");
        }
        if (templates.containsKey(name)) {
            return error(400, "InvalidLaunchTemplateName.AlreadyExistsException",
                    "Launch template name already in use.");
        }
        templates.put(name, Map.copyOf(p));
        String id = "lt-" + String.format("%017x", ids.incrementAndGet());
        templateIds.put(name, id);
        return ok("CreateLaunchTemplateResponse", "<launchTemplate><launchTemplateId>" + id
                + "</launchTemplateId><launchTemplateName>" + esc(name)
                + "</launchTemplateName><defaultVersionNumber>1</defaultVersionNumber><latestVersionNumber>1"
                + "</latestVersionNumber></launchTemplate>");
    }

    /** Templates whose launch-template tags match every {@code tag:K} filter (the only filters this fake knows). */
    private Answer describeLaunchTemplates(Map<String, String> p) {
        Map<String, String> wanted = new LinkedHashMap<>();
        for (int i = 1; p.containsKey("Filter." + i + ".Name"); i++) {
            String name = p.get("Filter." + i + ".Name");
            if (!name.startsWith("tag:")) {
                return error(400, "InvalidParameterValue", "This fake filters launch templates by tag only, not " + name);
            }
            wanted.put(name.substring(4), p.get("Filter." + i + ".Value.1"));
        }
        StringBuilder xml = new StringBuilder("<launchTemplates>");
        for (Map.Entry<String, Map<String, String>> t : templates.entrySet()) {
            Map<String, String> tags = new LinkedHashMap<>();
            Map<String, String> q = t.getValue();
            for (int s = 1; q.containsKey("TagSpecification." + s + ".ResourceType"); s++) {
                if (!"launch-template".equals(q.get("TagSpecification." + s + ".ResourceType"))) {
                    continue;
                }
                for (int k = 1; q.containsKey("TagSpecification." + s + ".Tag." + k + ".Key"); k++) {
                    tags.put(q.get("TagSpecification." + s + ".Tag." + k + ".Key"), q.get("TagSpecification." + s + ".Tag." + k + ".Value"));
                }
            }
            if (wanted.entrySet().stream().allMatch(w -> w.getValue().equals(tags.get(w.getKey())))) {
                xml.append("<item><launchTemplateId>").append(templateIds.get(t.getKey())).append("</launchTemplateId><launchTemplateName>")
                        .append(esc(t.getKey())).append("</launchTemplateName></item>");
            }
        }
        xml.append("</launchTemplates>");
        return ok("DescribeLaunchTemplatesResponse", xml.toString());
    }

    private Answer deleteLaunchTemplate(Map<String, String> p) {
        String id = p.get("LaunchTemplateId");
        String name = templateIds.entrySet().stream().filter(e -> e.getValue().equals(id)).map(Map.Entry::getKey).findFirst().orElse(null);
        if (name == null) {
            return error(400, "InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID " + id + ", does not exist.");
        }
        templates.remove(name);
        templateIds.remove(name);
        return ok("DeleteLaunchTemplateResponse", "<launchTemplate><launchTemplateId>" + id + "</launchTemplateId><launchTemplateName>"
                + esc(name) + "</launchTemplateName></launchTemplate>");
    }

    private Answer createFleet(Map<String, String> p) {
        String token = p.get("ClientToken");
        if (token != null && fleetsByToken.containsKey(token)) {
            FleetAnswer earlier = fleetsByToken.get(token);
            return earlier.params().equals(p) ? ok("CreateFleetResponse", earlier.xml())
                    : error(400, "IdempotentParameterMismatch",
                    "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).");
        }
        if (!"instant".equals(p.get("Type"))) {
            return error(400, "InvalidParameterValue", "This fake answers only instant fleets, not " + p.get("Type"));
        }
        String prefix = "LaunchTemplateConfigs.1.";
        String template = p.get(prefix + "LaunchTemplateSpecification.LaunchTemplateName");
        if (template == null || !templates.containsKey(template)) {
            return error(400, "InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with"
                    + " template name " + template + ", does not exist.");
        }
        Map<String, String> data = templates.get(template);
        int count = Integer.parseInt(p.get("TargetCapacitySpecification.TotalTargetCapacity"));
        boolean spot = "spot".equals(p.get("TargetCapacitySpecification.DefaultTargetCapacityType"));
        String lifecycle = spot ? "spot" : "on-demand";
        Map<String, String> tags = new Call("CreateFleet", p).tagSpecification("instance");
        StringBuilder errors = new StringBuilder("<errorSet>");
        StringBuilder launched = new StringBuilder("<fleetInstanceSet>");
        int remaining = count;
        for (int n = 1; p.containsKey(prefix + "Overrides." + n + ".SubnetId"); n++) {
            // Attribute-based overrides name no type: EC2 picks one that fits; this fake picks BY_ATTRIBUTES.
            String type = p.getOrDefault(prefix + "Overrides." + n + ".InstanceType", BY_ATTRIBUTES);
            String subnet = p.get(prefix + "Overrides." + n + ".SubnetId");
            String pool = "<launchTemplateAndOverrides><launchTemplateSpecification><launchTemplateName>" + esc(template)
                    + "</launchTemplateName><version>1</version></launchTemplateSpecification><overrides><instanceType>"
                    + esc(type) + "</instanceType><subnetId>" + esc(subnet) + "</subnetId></overrides>"
                    + "</launchTemplateAndOverrides><lifecycle>" + lifecycle + "</lifecycle>";
            if (remaining == 0) {
                continue;
            }
            int room = (spot && spotScarce) || noCapacity.contains(subnet) ? 0 : spot ? spotPerPool : Integer.MAX_VALUE;
            if (room < remaining) {
                errors.append("<item>").append(pool).append("<errorCode>InsufficientInstanceCapacity</errorCode>")
                        .append("<errorMessage>There is no ").append(spot ? "Spot " : "").append("capacity available")
                        .append(" that matches your request.</errorMessage></item>");
            }
            int take = Math.min(room, remaining);
            if (take == 0) {
                continue;
            }
            remaining -= take;
            String reservationId = newReservationId();
            launched.append("<item>").append(pool).append("<instanceIds>");
            for (int i = 0; i < take; i++) {
                String id = newInstanceId();
                table.put(id, new Row(id, reservationId, "pending", tags == null ? Map.of() : tags, token, subnet,
                        data.getOrDefault("LaunchTemplateData.ImageId", "ami-fromtemplate00"), type, spot));
                launched.append("<item>").append(id).append("</item>");
            }
            launched.append("</instanceIds><instanceType>").append(esc(type)).append("</instanceType></item>");
        }
        String xml = "<fleetId>fleet-" + UUID.randomUUID() + "</fleetId>" + errors + "</errorSet>" + launched
                + "</fleetInstanceSet>";
        if (token != null) {
            fleetsByToken.put(token, new FleetAnswer(Map.copyOf(p), xml));
        }
        return ok("CreateFleetResponse", xml);
    }

    private Answer describeInstances(Map<String, String> p) {
        Map<String, List<String>> filters = new Call("DescribeInstances", p).filters();
        for (String name : filters.keySet()) {
            if (!name.startsWith("tag:") && !name.equals("instance-state-name") && !name.equals("instance-id")) {
                return error(400, "InvalidParameterValue", "The filter '" + name + "' is not supported by this fake.");
            }
        }
        List<String> ids = list(p, "InstanceId");
        for (String id : ids) {
            if (!table.containsKey(id)) {
                return error(400, "InvalidInstanceID.NotFound", "The instance ID '" + id + "' does not exist");
            }
        }
        int start = p.containsKey("NextToken") ? Integer.parseInt(p.get("NextToken")) : 0;
        if (start == 0) {
            // Instances boot while the controller looks: each listing (first page) is one more look,
            // and an instance is seen pending by describesWhilePending listings, then running.
            for (Row row : table.values()) {
                if (row.state.equals("pending")) {
                    if (row.pendingDescribes >= describesWhilePending) {
                        row.state = "running";
                    } else {
                        row.pendingDescribes++;
                    }
                }
            }
        }
        List<Row> matching = new ArrayList<>();
        for (Row row : table.values()) {
            if ((ids.isEmpty() || ids.contains(row.id)) && matches(row, filters)) {
                matching.add(row);
            }
        }
        int size = Math.min(pageSize, p.containsKey("MaxResults") ? Integer.parseInt(p.get("MaxResults")) : 1000);
        int end = Math.min(matching.size(), start + size);
        List<Row> page = matching.subList(start, end);

        StringBuilder xml = new StringBuilder("<reservationSet>");
        Map<String, List<Row>> byReservation = new LinkedHashMap<>();
        for (Row row : page) {
            byReservation.computeIfAbsent(row.reservationId, r -> new ArrayList<>()).add(row);
        }
        byReservation.forEach((id, rows) -> xml.append("<item>").append(reservationBody(id, rows)).append("</item>"));
        xml.append("</reservationSet>");
        if (end < matching.size()) {
            xml.append("<nextToken>").append(end).append("</nextToken>");
        }
        return ok("DescribeInstancesResponse", xml.toString());
    }

    private static boolean matches(Row row, Map<String, List<String>> filters) {
        for (Map.Entry<String, List<String>> f : filters.entrySet()) {
            String value = switch (f.getKey()) {
                case "instance-state-name" -> row.state;
                case "instance-id" -> row.id;
                default -> row.tags.get(f.getKey().substring("tag:".length()));
            };
            if (value == null || !f.getValue().contains(value)) {
                return false;
            }
        }
        return true;
    }

    private Answer createTags(Map<String, String> p) {
        List<String> resources = list(p, "ResourceId");
        for (String id : resources) {
            if (!table.containsKey(id)) {
                return error(400, "InvalidInstanceID.NotFound", "The instance ID '" + id + "' does not exist");
            }
        }
        Map<String, String> tags = tags(p, "Tag");
        for (String id : resources) {
            table.get(id).tags.putAll(tags);
        }
        return ok("CreateTagsResponse", "<return>true</return>");
    }

    private Answer terminateInstances(Map<String, String> p) {
        List<String> ids = list(p, "InstanceId");
        for (String id : ids) {
            if (!table.containsKey(id)) {
                return error(400, "InvalidInstanceID.NotFound", "The instance ID '" + id + "' does not exist");
            }
        }
        StringBuilder xml = new StringBuilder("<instancesSet>");
        for (String id : ids) {
            Row row = table.remove(id);
            String previous = row.state;
            row.state = "terminated";
            xml.append("<item><instanceId>").append(id).append("</instanceId>")
                    .append("<currentState><code>32</code><name>shutting-down</name></currentState>")
                    .append("<previousState><code>").append(stateCode(previous)).append("</code><name>").append(previous)
                    .append("</name></previousState></item>");
        }
        xml.append("</instancesSet>");
        return ok("TerminateInstancesResponse", xml.toString());
    }

    private Answer describeImages(Map<String, String> p) {
        StringBuilder xml = new StringBuilder("<imagesSet>");
        for (String id : list(p, "ImageId")) {
            String root = images.get(id);
            if (root == null) {
                return error(400, "InvalidAMIID.NotFound", "The image id '[" + id + "]' does not exist");
            }
            xml.append("<item><imageId>").append(id).append("</imageId><imageState>available</imageState>")
                    .append("<rootDeviceType>ebs</rootDeviceType><rootDeviceName>").append(esc(root))
                    .append("</rootDeviceName></item>");
        }
        xml.append("</imagesSet>");
        return ok("DescribeImagesResponse", xml.toString());
    }

    // ---- XML ----

    private static String reservationBody(String reservationId, List<Row> rows) {
        StringBuilder xml = new StringBuilder();
        xml.append("<reservationId>").append(reservationId).append("</reservationId><ownerId>").append(ACCOUNT)
                .append("</ownerId><groupSet/><instancesSet>");
        for (Row row : rows) {
            xml.append("<item><instanceId>").append(row.id).append("</instanceId>")
                    .append("<imageId>").append(esc(row.imageId)).append("</imageId>")
                    .append("<instanceState><code>").append(stateCode(row.state)).append("</code><name>")
                    .append(row.state).append("</name></instanceState>")
                    .append("<instanceType>").append(esc(row.instanceType)).append("</instanceType>")
                    .append("<launchTime>").append(row.launchTime).append("</launchTime>");
            if (row.subnetId != null) {
                xml.append("<subnetId>").append(esc(row.subnetId)).append("</subnetId>");
            }
            if (row.clientToken != null) {
                xml.append("<clientToken>").append(esc(row.clientToken)).append("</clientToken>");
            }
            if (row.spot) {
                xml.append("<instanceLifecycle>spot</instanceLifecycle>");
            }
            xml.append("<tagSet>");
            row.tags.forEach((k, v) -> xml.append("<item><key>").append(esc(k)).append("</key><value>").append(esc(v))
                    .append("</value></item>"));
            xml.append("</tagSet></item>");
        }
        xml.append("</instancesSet>");
        return xml.toString();
    }

    private static int stateCode(String state) {
        return switch (state) {
            case "pending" -> 0;
            case "running" -> 16;
            case "shutting-down" -> 32;
            case "terminated" -> 48;
            case "stopping" -> 64;
            default -> 80;
        };
    }

    private static Answer ok(String element, String body) {
        return new Answer(200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><" + element
                + " xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>" + UUID.randomUUID()
                + "</requestId>" + body + "</" + element + ">");
    }

    private static Answer error(int status, String code, String message) {
        return new Answer(status, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>" + esc(code)
                + "</Code><Message>" + esc(message) + "</Message></Error></Errors><RequestID>"
                + UUID.randomUUID() + "</RequestID></Response>");
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    // ---- form parameters ----

    private static Map<String, String> decodeForm(String body) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String pair : body.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            out.put(key, value);
        }
        return out;
    }

    static List<String> list(Map<String, String> params, String prefix) {
        List<String> out = new ArrayList<>();
        for (int n = 1; params.containsKey(prefix + "." + n); n++) {
            out.add(params.get(prefix + "." + n));
        }
        return out;
    }

    static Map<String, String> tags(Map<String, String> params, String prefix) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int n = 1; params.containsKey(prefix + "." + n + ".Key"); n++) {
            out.put(params.get(prefix + "." + n + ".Key"), params.getOrDefault(prefix + "." + n + ".Value", ""));
        }
        return out;
    }

    private String newInstanceId() {
        return String.format("i-%017x", ids.incrementAndGet());
    }

    private String newReservationId() {
        return String.format("r-%017x", ids.incrementAndGet());
    }
}
