package dev.imgscale.daemon.iam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.daemon.aws.S3Lease;
import dev.imgscale.daemon.aws.S3ObjectStore;
import dev.imgscale.daemon.port.Fleet;
import dev.imgscale.daemon.port.ObjectStoreWorkerBoard;
import dev.imgscale.daemon.iam.ClassFileCalls.Call;
import dev.imgscale.daemon.iam.ClassFileCalls.ClassInfo;
import dev.imgscale.daemon.iam.ClassFileCalls.Kind;
import dev.imgscale.daemon.iam.ClassFileCalls.Method;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.aws.SsmParameterStore;
import dev.imgscale.daemon.wire.StackNames;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The IAM policies in {@code examples/iam/} against the code: each role's policy must allow
 * exactly the AWS actions the code that role runs can call (no fewer, or the deployment breaks;
 * no more, or it is not least privilege), each on the stack's own resources only.
 *
 * <p>How the actions are found, with no hand-kept list of them: the daemon's compiled classes are
 * read ({@link ClassFileCalls}) into a call graph. Calls on an interface or a class reach every
 * implementation in the daemon (so {@code board.report(...)} in the worker reaches
 * {@link ObjectStoreWorkerBoard#report}, then {@code ObjectStore.put}, then
 * {@link S3ObjectStore#put}); lambdas and method references are edges from where they are made.
 * From each role's entry points ({@link #ROLES}), every reachable call on an AWS SDK client
 * ({@code S3Client}, {@code SqsClient}, {@code Ec2Client}, {@code SsmClient}, {@code StsClient}, and
 * their waiters) is an API operation, translated to the IAM actions it needs by {@link #SDK_TO_IAM},
 * which fails the test for an operation it does not know rather than guess.
 *
 * <p>The policies carry the placeholders {@code {{stack}}}, {@code {{account}}} and
 * {@code {{region}}}, and {@code {{source-bucket}}} (a line per bucket images are read from in
 * place), which {@code examples/iam/create-roles.sh} fills in; here they are rendered
 * with sample values and each resource is compared with the names the code derives
 * ({@link StackNames#derive}, {@link Keys}, {@link ObjectStoreWorkerBoard}, {@link S3Lease#KEY},
 * {@link SsmParameterStore#path}).
 */
class IamPolicyTest {
    static final String STACK = "demo";
    static final String ACCOUNT = "123456789012";
    static final String REGION = "eu-west-1";
    static final StackNames NAMES = StackNames.derive(STACK, ACCOUNT + "-" + REGION);
    static final String WORKER_ROLE = "imgscale-" + STACK + "-worker";
    /** The sample source-buckets ({@code {{source-bucket}}}: images read in place; create-roles.sh's SOURCE_BUCKETS). */
    static final List<String> SOURCE_BUCKETS = List.of("demo-photos", "archive.example");

    private static final String DAEMON = "dev/imgscale/daemon/";
    private static final String SDK = "software/amazon/awssdk/services/";

    /**
     * Which code runs under which policy. An entry is a package ({@code worker/}: every method of
     * every class in it), a class ({@code aws/S3Lease}: all its methods) or methods by name
     * ({@code stack/StackOpener#open}). Everything reachable from the entries counts.
     *
     * <ul>
     *   <li>worker (the instance profile of every worker): the worker loop, its stages (run on threads
     *       of their own, so named here: a thread's start is not followed) and its runtime, which open
     *       the queues and buckets ({@code aws/SqsWorkQueue}, {@code aws/S3ObjectStore}) and report to
     *       the board ({@code port/ObjectStoreWorkerBoard}); plus what {@code cli}'s WorkerCommand
     *       wires in: opening the stack from {@code --config ssm:/imgscale/<stack>}, which reads SSM
     *       ({@code aws/SsmParameterStore#read}).</li>
     *   <li>controller: {@code controller/}, {@code aws/Ec2Fleet}, the board ({@code port/ObjectStoreWorkerBoard}) and
     *       {@code aws/S3Lease}; plus what {@code cli}'s ControllerCommand and FleetWiring wire in: the
     *       stack opened from SSM, the request queue's depth and the output bucket for the board.</li>
     *   <li>cli-user (upload, results, status, reset, serve): {@code client/} and {@code web/}, plus the
     *       stack opening and the fleet state {@code status} reads from the output bucket.</li>
     *   <li>stack-admin ({@code init}, {@code destroy}): {@code stack/StackProvisioner} with the SSM
     *       parameter store it writes. Kept apart from cli-user, so that whoever uploads images cannot
     *       delete the stack's buckets and queues.</li>
     * </ul>
     *
     * {@code cli} is not on this module's class path (it depends on the daemon, not the reverse), so
     * the few daemon calls its commands make directly are named here.
     */
    static final List<Role> ROLES = List.of(
            new Role("worker", "worker-policy.json", List.of(
                    "worker/",
                    "worker/stage/",
                    "stack/StackOpener#open")),
            new Role("controller", "controller-policy.json", List.of(
                    "controller/",
                    "aws/Ec2Fleet",
                    "port/ObjectStoreWorkerBoard",
                    "aws/S3Lease",
                    "stack/StackOpener#open",
                    "stack/StackContext#requests",
                    "stack/StackContext#output",
                    "port/WorkQueue#depth")),
            new Role("cli-user", "cli-user-policy.json", List.of(
                    "client/",
                    "web/",
                    "stack/StackOpener#open",
                    "stack/StackContext#output",
                    "port/ObjectStore#get")),
            new Role("stack-admin", "stack-admin-policy.json", List.of(
                    "stack/StackProvisioner",
                    "aws/SsmParameterStore",
                    "stack/StackOpener#open")));

    /**
     * The IAM actions each SDK operation needs, by {@code Client.method}. IAM's names differ from
     * the API's in places: S3 above all (HeadObject is authorised as s3:GetObject, ListObjectsV2 and
     * HeadBucket as s3:ListBucket, DeleteObjects per key as s3:DeleteObject, the bucket settings under
     * their own names), and SQS batch calls as their single-message action. RunInstances also needs
     * ec2:CreateTags for the tags it applies at launch and iam:PassRole for the workers' instance
     * profile; CreateFleet ({@code instant}) all of those as well; CreateLaunchTemplate ec2:CreateTags for
     * the template's own tags. GetCallerIdentity needs no permission at all.
     */
    static final Map<String, List<String>> SDK_TO_IAM = Map.ofEntries(
            Map.entry("S3Client.putObject", List.of("s3:PutObject")),
            // the parts of a multipart upload are authorised by s3:PutObject; giving one up has its own action
            Map.entry("S3Client.createMultipartUpload", List.of("s3:PutObject")),
            Map.entry("S3Client.uploadPart", List.of("s3:PutObject")),
            Map.entry("S3Client.completeMultipartUpload", List.of("s3:PutObject")),
            Map.entry("S3Client.abortMultipartUpload", List.of("s3:AbortMultipartUpload")),
            Map.entry("S3Client.getObject", List.of("s3:GetObject")),
            Map.entry("S3Client.getObjectAsBytes", List.of("s3:GetObject")),
            Map.entry("S3Client.headObject", List.of("s3:GetObject")),
            Map.entry("S3Client.listObjectsV2", List.of("s3:ListBucket")),
            Map.entry("S3Client.listObjectsV2Paginator", List.of("s3:ListBucket")),
            Map.entry("S3Client.headBucket", List.of("s3:ListBucket")),
            Map.entry("S3Waiter.waitUntilBucketExists", List.of("s3:ListBucket")),
            Map.entry("S3Client.deleteObject", List.of("s3:DeleteObject")),
            Map.entry("S3Client.deleteObjects", List.of("s3:DeleteObject")),
            Map.entry("S3Client.createBucket", List.of("s3:CreateBucket")),
            Map.entry("S3Client.deleteBucket", List.of("s3:DeleteBucket")),
            Map.entry("S3Client.getPublicAccessBlock", List.of("s3:GetBucketPublicAccessBlock")),
            Map.entry("S3Client.putPublicAccessBlock", List.of("s3:PutBucketPublicAccessBlock")),
            Map.entry("S3Client.getBucketEncryption", List.of("s3:GetEncryptionConfiguration")),
            Map.entry("S3Client.putBucketEncryption", List.of("s3:PutEncryptionConfiguration")),
            Map.entry("SqsClient.getQueueUrl", List.of("sqs:GetQueueUrl")),
            Map.entry("SqsClient.sendMessage", List.of("sqs:SendMessage")),
            Map.entry("SqsClient.sendMessageBatch", List.of("sqs:SendMessage")),
            Map.entry("SqsClient.receiveMessage", List.of("sqs:ReceiveMessage")),
            Map.entry("SqsClient.changeMessageVisibility", List.of("sqs:ChangeMessageVisibility")),
            Map.entry("SqsClient.changeMessageVisibilityBatch", List.of("sqs:ChangeMessageVisibility")),
            Map.entry("SqsClient.deleteMessage", List.of("sqs:DeleteMessage")),
            Map.entry("SqsClient.deleteMessageBatch", List.of("sqs:DeleteMessage")),
            Map.entry("SqsClient.getQueueAttributes", List.of("sqs:GetQueueAttributes")),
            Map.entry("SqsClient.setQueueAttributes", List.of("sqs:SetQueueAttributes")),
            Map.entry("SqsClient.purgeQueue", List.of("sqs:PurgeQueue")),
            Map.entry("SqsClient.createQueue", List.of("sqs:CreateQueue")),
            Map.entry("SqsClient.deleteQueue", List.of("sqs:DeleteQueue")),
            Map.entry("Ec2Client.runInstances", List.of("ec2:RunInstances", "ec2:CreateTags", "iam:PassRole")),
            // An instant EC2 Fleet launches with the caller's own permissions: RunInstances on every resource, the
            // tags it applies, and PassRole for the template's instance profile, besides CreateFleet itself.
            Map.entry("Ec2Client.createFleet", List.of("ec2:CreateFleet", "ec2:RunInstances", "ec2:CreateTags",
                    "iam:PassRole")),
            Map.entry("Ec2Client.createLaunchTemplate", List.of("ec2:CreateLaunchTemplate", "ec2:CreateTags")),
            Map.entry("Ec2Client.createTags", List.of("ec2:CreateTags")),
            Map.entry("Ec2Client.describeLaunchTemplates", List.of("ec2:DescribeLaunchTemplates")),
            Map.entry("Ec2Client.deleteLaunchTemplate", List.of("ec2:DeleteLaunchTemplate")),
            Map.entry("Ec2Client.terminateInstances", List.of("ec2:TerminateInstances")),
            Map.entry("Ec2Client.describeInstances", List.of("ec2:DescribeInstances")),
            Map.entry("Ec2Client.describeInstancesPaginator", List.of("ec2:DescribeInstances")),
            Map.entry("Ec2Client.describeImages", List.of("ec2:DescribeImages")),
            Map.entry("SsmClient.getParametersByPath", List.of("ssm:GetParametersByPath")),
            Map.entry("SsmClient.putParameter", List.of("ssm:PutParameter")),
            Map.entry("SsmClient.deleteParameters", List.of("ssm:DeleteParameters")),
            Map.entry("StsClient.getCallerIdentity", List.of()));

    /** Methods of the SDK's client interfaces that make no request. */
    static final Set<String> NOT_REQUESTS = Set.of("serviceClientConfiguration", "serviceName", "close", "waiter",
            "utilities", "builder", "create");

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The daemon's classes, by internal name. */
    private static Map<String, ClassInfo> classes;
    private static Map<String, Set<String>> subtypes;

    record Role(String name, String policyFile, List<String> entries) {
    }

    /** A method of a daemon class: {@code owner.name descriptor}. */
    record Ref(String owner, String name, String descriptor) {
        @Override
        public String toString() {
            return owner.substring(owner.lastIndexOf('/') + 1) + "." + name;
        }
    }

    /** What a role's code calls: IAM action → the SDK operation that needs it, then its callers back to an entry. */
    record Derived(Map<String, List<String>> actions, Set<String> unknownSdkCalls) {
    }

    @BeforeAll
    static void readTheDaemonsClasses() throws IOException, URISyntaxException {
        Path root = Path.of(S3ObjectStore.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        classes = new HashMap<>();
        try (Stream<Path> files = Files.walk(root.resolve(DAEMON))) {
            for (Path file : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".class"))::iterator) {
                ClassInfo c = ClassFileCalls.read(Files.readAllBytes(file));
                classes.put(c.name(), c);
            }
        }
        subtypes = new HashMap<>();
        for (ClassInfo c : classes.values()) {
            List<String> supers = new ArrayList<>(c.interfaces());
            if (c.superName() != null) {
                supers.add(c.superName());
            }
            for (String s : supers) {
                subtypes.computeIfAbsent(s, k -> new LinkedHashSet<>()).add(c.name());
            }
        }
    }

    @Test
    void should_allow_each_role_exactly_the_aws_actions_its_code_calls() throws IOException {
        StringBuilder problems = new StringBuilder();
        for (Role role : ROLES) {
            Derived derived = derive(role);
            Map<String, List<JsonNode>> policy = allowedActions(readPolicy(role.policyFile()));
            Set<String> missing = new TreeSet<>(derived.actions().keySet());
            missing.removeAll(policy.keySet());
            Set<String> unused = new TreeSet<>(policy.keySet());
            unused.removeAll(derived.actions().keySet());
            if (!derived.unknownSdkCalls().isEmpty()) {
                problems.append("\n").append(role.name()).append(" calls SDK operations SDK_TO_IAM does not know: ")
                        .append(derived.unknownSdkCalls()).append('\n');
            }
            if (!missing.isEmpty() || !unused.isEmpty()) {
                problems.append("\nexamples/iam/").append(role.policyFile()).append(" (").append(role.name())
                        .append(") does not match what its code calls:\n");
                for (String a : missing) {
                    problems.append("  + ").append(a).append("   missing; needed by ")
                            .append(String.join(" <- ", derived.actions().get(a))).append('\n');
                }
                for (String a : unused) {
                    problems.append("  - ").append(a).append("   allowed, but nothing the ").append(role.name())
                            .append(" runs calls it\n");
                }
                problems.append("  the code calls: ").append(new TreeSet<>(derived.actions().keySet())).append('\n');
            }
        }
        if (!problems.isEmpty()) {
            fail("Policies and code disagree ('+' add to the policy, '-' remove from it):" + problems);
        }
    }

    @Test
    void should_know_every_aws_sdk_operation_the_daemon_calls() {
        Set<String> unknown = new TreeSet<>();
        for (ClassInfo c : classes.values()) {
            for (Method m : c.methods()) {
                for (Call call : m.calls()) {
                    String op = sdkOperation(call);
                    if (op != null && !SDK_TO_IAM.containsKey(op)) {
                        unknown.add(op + " (in " + c.name().substring(DAEMON.length()) + "." + m.name() + ")");
                    }
                }
            }
        }
        assertTrue(unknown.isEmpty(), "SDK operations without a known IAM action; add each to SDK_TO_IAM (see the"
                + " Service Authorization Reference for the action it needs) and to the policies of the roles that"
                + " call it:\n  " + String.join("\n  ", unknown));
    }

    @Test
    void should_resolve_every_role_entry_to_daemon_code() {
        for (Role role : ROLES) {
            for (String entry : role.entries()) {
                assertFalse(entryMethods(entry).isEmpty(), role.name() + ": the entry " + entry
                        + " names no method of the daemon; it was renamed or moved, so update ROLES");
            }
        }
    }

    /**
     * The analysis itself: calls through ports, lambdas and a private fallback are found, and calls
     * that only another role makes are not.
     */
    @Test
    void should_follow_calls_through_ports_lambdas_and_fallbacks() {
        Map<String, List<String>> worker = derive(role("worker")).actions();
        // Worker -> WorkQueue.receive (a port) -> SqsWorkQueue.receive -> SqsClient.receiveMessage
        assertEquals("SqsWorkQueue.receive", worker.get("sqs:ReceiveMessage").get(1), worker.toString());
        // WorkerBeacon -> WorkerBoard.drainRequested/report -> ObjectStoreWorkerBoard -> ObjectStore.exists/put -> S3ObjectStore
        Map<String, List<String>> beacon = derive(new Role("beacon", "", List.of("worker/WorkerBeacon"))).actions();
        assertEquals(Set.of("s3:GetObject", "s3:ListBucket", "s3:PutObject"), beacon.keySet(), beacon.toString());
        assertFalse(worker.containsKey("sqs:PurgeQueue"), "the worker never purges");
        assertFalse(worker.containsKey("s3:DeleteObject"), "the worker deletes no object");
        assertFalse(worker.containsKey("ec2:RunInstances"));

        // reset purges; when SQS refuses a second purge within a minute, it receives and deletes instead
        Map<String, List<String>> user = derive(role("cli-user")).actions();
        assertTrue(user.get("sqs:ReceiveMessage").contains("SqsWorkQueue.purge"), user.toString());

        Map<String, List<String>> controller = derive(role("controller")).actions();
        // Both launch paths pass the workers' role: RunInstances (one type) and EC2 Fleet (several).
        List<String> passRole = controller.get("iam:PassRole");
        assertTrue(passRole.subList(0, 2).equals(List.of("Ec2Client.runInstances", "SubnetLauncher.run"))
                || passRole.subList(0, 2).equals(List.of("Ec2Client.createFleet", "PoolLauncher.call")), passRole.toString());
        Map<String, List<String>> runPath = derive(new Role("run", "", List.of("aws/SubnetLauncher#run"))).actions();
        assertEquals(List.of("Ec2Client.runInstances", "SubnetLauncher.run"), runPath.get("iam:PassRole"), runPath.toString());
        Map<String, List<String>> pools = derive(new Role("pools", "", List.of("aws/PoolLauncher#launch"))).actions();
        assertEquals(Set.of("ec2:CreateFleet", "ec2:RunInstances", "ec2:CreateTags", "iam:PassRole",
                "ec2:CreateLaunchTemplate"), pools.keySet(), pools.toString());
        // ControllerCommand hands the controller `() -> stack.requests().depth()`: WorkQueue.depth -> SqsWorkQueue.depth
        assertTrue(controller.get("sqs:GetQueueAttributes").contains("SqsWorkQueue.depth"), controller.toString());
        assertFalse(controller.containsKey("sqs:SendMessage"), "the controller sends no message");
    }

    @Test
    void should_scope_every_permission_to_the_stacks_own_resources() throws IOException {
        List<String> problems = new ArrayList<>();
        for (Role role : ROLES) {
            JsonNode policy = readPolicy(role.policyFile());
            assertEquals("2012-10-17", policy.path("Version").asText(), role.policyFile() + ": policy language version");
            for (JsonNode statement : policy.path("Statement")) {
                String where = role.policyFile() + " " + statement.path("Sid").asText("(no Sid)");
                for (String forbidden : List.of("NotAction", "NotResource", "Principal", "NotPrincipal")) {
                    if (statement.has(forbidden)) {
                        problems.add(where + ": uses " + forbidden);
                    }
                }
                if (!"Allow".equals(statement.path("Effect").asText())) {
                    problems.add(where + ": Effect must be Allow");
                }
                for (String action : strings(statement.path("Action"))) {
                    if (action.contains("*")) {
                        problems.add(where + ": wildcard action " + action);
                        continue;
                    }
                    for (String resource : strings(statement.path("Resource"))) {
                        String problem = checkResource(action, resource, statement.path("Condition"));
                        if (problem != null) {
                            problems.add(where + ": " + action + " on " + resource + ": " + problem);
                        }
                    }
                }
            }
        }
        assertTrue(problems.isEmpty(), "Permissions beyond the stack's resources:\n  " + String.join("\n  ", problems));
    }

    @Test
    void should_use_only_the_placeholders_that_create_roles_fills_in() throws IOException {
        Pattern placeholder = Pattern.compile("\\{\\{([^}]*)}}");
        Path iam = repo().resolve("examples/iam");
        try (Stream<Path> files = Files.list(iam)) {
            for (Path file : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".json"))::iterator) {
                Matcher m = placeholder.matcher(Files.readString(file));
                while (m.find()) {
                    assertTrue(Set.of("stack", "account", "region", "source-bucket").contains(m.group(1)),
                            file.getFileName() + " uses the unknown placeholder " + m.group());
                }
                // valid JSON once rendered, with several source buckets, one, or none
                JSON.readTree(render(Files.readString(file)));
                JSON.readTree(render(Files.readString(file), List.of("demo-photos")));
                JSON.readTree(render(Files.readString(file), List.of()));
            }
        }
    }

    // ---- the call graph ----

    static Role role(String name) {
        return ROLES.stream().filter(r -> r.name().equals(name)).findFirst().orElseThrow();
    }

    /** Every IAM action reachable from the role's entries, with the call path that first reached it. */
    static Derived derive(Role role) {
        Map<Ref, Ref> parent = new HashMap<>();
        Deque<Ref> queue = new ArrayDeque<>();
        Set<Ref> seen = new LinkedHashSet<>();
        for (String entry : role.entries()) {
            for (Ref r : entryMethods(entry)) {
                // an interface method as an entry stands for its implementations
                List<Ref> refs = new ArrayList<>(List.of(r));
                refs.addAll(targets(new Call(Kind.INTERFACE, r.owner(), r.name(), r.descriptor())));
                for (Ref ref : refs) {
                    if (seen.add(ref)) {
                        queue.add(ref);
                    }
                }
            }
        }
        Map<String, List<String>> actions = new TreeMap<>();
        Set<String> unknown = new TreeSet<>();
        while (!queue.isEmpty()) {
            Ref at = queue.poll();
            for (Call call : method(at).calls()) {
                String op = sdkOperation(call);
                if (op != null) {
                    List<String> iam = SDK_TO_IAM.get(op);
                    if (iam == null) {
                        unknown.add(op);
                        continue;
                    }
                    for (String action : iam) {
                        actions.computeIfAbsent(action, a -> path(op, at, parent));
                    }
                    // A GET or HEAD of a key that does not exist answers 404 only to a caller allowed to
                    // list the bucket, 403 to others: S3ObjectStore and S3Lease rely on the 404.
                    if (iam.contains("s3:GetObject")) {
                        actions.computeIfAbsent("s3:ListBucket", a -> path(op + " of a missing key", at, parent));
                    }
                    continue;
                }
                for (Ref target : targets(call)) {
                    if (seen.add(target)) {
                        parent.put(target, at);
                        queue.add(target);
                    }
                }
            }
        }
        return new Derived(actions, unknown);
    }

    /** The call path from an SDK operation back to the entry it was reached from: {@code [op, caller, its caller, ...]}. */
    private static List<String> path(String op, Ref at, Map<Ref, Ref> parent) {
        List<String> path = new ArrayList<>(List.of(op));
        for (Ref r = at; r != null && path.size() < 16; r = parent.get(r)) {
            path.add(r.toString());
        }
        return path;
    }

    /** {@code S3Client.putObject} for a call on an SDK client or waiter; null for anything else. */
    static String sdkOperation(Call call) {
        if (!call.owner().startsWith(SDK) || call.kind() == Kind.NEW) {
            return null;
        }
        String type = call.owner().substring(call.owner().lastIndexOf('/') + 1);
        if (!(type.endsWith("Client") || type.endsWith("Waiter")) || NOT_REQUESTS.contains(call.name())) {
            return null;
        }
        return type + "." + call.name();
    }

    /** The daemon methods a call can land in: the one it names, and its overrides in subtypes. */
    private static List<Ref> targets(Call call) {
        if (!classes.containsKey(call.owner())) {
            return List.of();
        }
        List<Ref> out = new ArrayList<>();
        // the first use of a class runs its static initialiser
        for (Method m : classes.get(call.owner()).methods()) {
            if (m.name().equals("<clinit>")) {
                out.add(new Ref(call.owner(), m.name(), m.descriptor()));
            }
        }
        if (call.kind() == Kind.NEW) {
            // An anonymous class's methods are called by whoever receives the object, often the JDK.
            if (call.owner().matches(".*\\$[0-9]+")) {
                for (Method m : classes.get(call.owner()).methods()) {
                    out.add(new Ref(call.owner(), m.name(), m.descriptor()));
                }
            }
            return out;
        }
        Ref declared = resolve(call.owner(), call.name(), call.descriptor());
        if (declared != null) {
            out.add(declared);
        }
        if (call.kind() != Kind.STATIC && call.kind() != Kind.SPECIAL) {
            for (String sub : allSubtypes(call.owner())) {
                for (Method m : classes.get(sub).methods()) {
                    if (m.name().equals(call.name()) && m.descriptor().equals(call.descriptor())) {
                        out.add(new Ref(sub, m.name(), m.descriptor()));
                    }
                }
            }
        }
        return out;
    }

    /** The method a call names, found in the class or the nearest supertype that declares it. */
    private static Ref resolve(String owner, String name, String descriptor) {
        Deque<String> todo = new ArrayDeque<>(List.of(owner));
        Set<String> visited = new LinkedHashSet<>();
        while (!todo.isEmpty()) {
            String type = todo.poll();
            ClassInfo c = classes.get(type);
            if (c == null || !visited.add(type)) {
                continue;
            }
            for (Method m : c.methods()) {
                if (m.name().equals(name) && m.descriptor().equals(descriptor)) {
                    return new Ref(type, name, descriptor);
                }
            }
            if (c.superName() != null) {
                todo.add(c.superName());
            }
            todo.addAll(c.interfaces());
        }
        return null;
    }

    private static Set<String> allSubtypes(String type) {
        Set<String> out = new LinkedHashSet<>();
        Deque<String> todo = new ArrayDeque<>(subtypes.getOrDefault(type, Set.of()));
        while (!todo.isEmpty()) {
            String t = todo.poll();
            if (out.add(t)) {
                todo.addAll(subtypes.getOrDefault(t, Set.of()));
            }
        }
        return out;
    }

    private static Method method(Ref r) {
        for (Method m : classes.get(r.owner()).methods()) {
            if (m.name().equals(r.name()) && m.descriptor().equals(r.descriptor())) {
                return m;
            }
        }
        throw new IllegalStateException("no method " + r);
    }

    /** The methods an entry of {@link #ROLES} names. */
    static List<Ref> entryMethods(String entry) {
        List<Ref> out = new ArrayList<>();
        int hash = entry.indexOf('#');
        String type = DAEMON + (hash < 0 ? entry : entry.substring(0, hash));
        String name = hash < 0 ? null : entry.substring(hash + 1);
        for (ClassInfo c : classes.values()) {
            boolean inScope = entry.endsWith("/")
                    ? c.name().startsWith(type) && c.name().indexOf('/', type.length()) < 0
                    : c.name().equals(type) || (name == null && c.name().startsWith(type + "$"));
            if (!inScope) {
                continue;
            }
            for (Method m : c.methods()) {
                if (name == null || m.name().equals(name)) {
                    out.add(new Ref(c.name(), m.name(), m.descriptor()));
                }
            }
        }
        return out;
    }

    // ---- the policies ----

    static Path repo() {
        return Path.of(System.getProperty("imgscale.repo", "..")).toAbsolutePath().normalize();
    }

    static String render(String template) {
        return render(template, SOURCE_BUCKETS);
    }

    /** As create-roles.sh renders: a line naming {@code {{source-bucket}}} once per source bucket, none for none. */
    static String render(String template, List<String> sourceBuckets) {
        List<String> out = new ArrayList<>();
        for (String line : template.split("\n", -1)) {
            if (line.contains("{{source-bucket}}")) {
                for (String bucket : sourceBuckets) {
                    out.add(line.replace("{{source-bucket}}", bucket));
                }
            } else {
                out.add(line);
            }
        }
        return String.join("\n", out).replace("{{stack}}", STACK).replace("{{account}}", ACCOUNT).replace("{{region}}", REGION);
    }

    static JsonNode readPolicy(String file) throws IOException {
        Path path = repo().resolve("examples/iam").resolve(file);
        assertTrue(Files.isRegularFile(path), "missing " + path);
        return JSON.readTree(render(Files.readString(path)));
    }

    /** Action → the statements that allow it. */
    static Map<String, List<JsonNode>> allowedActions(JsonNode policy) {
        Map<String, List<JsonNode>> out = new LinkedHashMap<>();
        for (JsonNode statement : policy.path("Statement")) {
            if ("Allow".equals(statement.path("Effect").asText())) {
                for (String action : strings(statement.path("Action"))) {
                    out.computeIfAbsent(action, a -> new ArrayList<>()).add(statement);
                }
            }
        }
        return out;
    }

    static List<String> strings(JsonNode node) {
        List<String> out = new ArrayList<>();
        if (node.isTextual()) {
            out.add(node.asText());
        } else {
            for (Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
                out.add(it.next().asText());
            }
        }
        return out;
    }

    /** Null when {@code action} on {@code resource} under {@code condition} stays within the stack; else why not. */
    static String checkResource(String action, String resource, JsonNode condition) {
        String ec2 = "arn:aws:ec2:" + REGION + ":" + ACCOUNT + ":";
        Set<String> buckets = Set.of(NAMES.inputBucket(), NAMES.outputBucket());
        Set<String> queues = Set.of(NAMES.requestQueue(), NAMES.deadLetterQueue(), NAMES.resultQueue());
        String ssm = "arn:aws:ssm:" + REGION + ":" + ACCOUNT + ":parameter" + SsmParameterStore.path(STACK);
        switch (action) {
            case "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload" -> {
                // images read in place: any key of a source bucket, read only
                if (action.equals("s3:GetObject") && SOURCE_BUCKETS.stream().anyMatch(b -> resource.equals("arn:aws:s3:::" + b + "/*"))) {
                    return null;
                }
                for (String bucket : buckets) {
                    String prefix = "arn:aws:s3:::" + bucket + "/";
                    if (resource.startsWith(prefix) && objectKeyPattern(resource.substring(prefix.length()))) {
                        return null;
                    }
                }
                return "expected arn:aws:s3:::<input or output bucket>/<one of imgscale's key prefixes>*";
            }
            case "s3:ListBucket" -> {
                // a source bucket: listed by upload, and a missing image must answer 404, not 403
                return buckets.stream().anyMatch(b -> resource.equals("arn:aws:s3:::" + b))
                        || SOURCE_BUCKETS.stream().anyMatch(b -> resource.equals("arn:aws:s3:::" + b)) ? null
                        : "expected one of the stack's buckets " + buckets + " or a source bucket";
            }
            case "s3:CreateBucket", "s3:DeleteBucket", "s3:GetBucketPublicAccessBlock",
                 "s3:PutBucketPublicAccessBlock", "s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration" -> {
                return buckets.stream().anyMatch(b -> resource.equals("arn:aws:s3:::" + b)) ? null
                        : "expected one of the stack's buckets " + buckets;
            }
            case "ssm:GetParametersByPath" -> {
                // authorised against the path asked for, not the parameters it returns
                return resource.equals(ssm) ? null : "expected the stack's path " + ssm;
            }
            case "ssm:PutParameter", "ssm:DeleteParameters" -> {
                return resource.equals(ssm + "/*") ? null : "expected the stack's parameters " + ssm + "/*";
            }
            case "ec2:DescribeInstances", "ec2:DescribeImages", "ec2:DescribeLaunchTemplates" -> {
                // Describe calls take no resource-level permission: "*", held to the stack's region
                return resource.equals("*") && REGION.equals(condition.path("StringEquals").path("aws:RequestedRegion").asText())
                        ? null : "expected \"*\" with StringEquals aws:RequestedRegion " + REGION;
            }
            case "ec2:CreateLaunchTemplate" -> {
                return resource.equals(ec2 + "launch-template/*") && stackTag(condition, "aws:RequestTag/") ? null
                        : "only launch templates created with the tag " + Fleet.STACK_TAG + "=" + STACK;
            }
            case "ec2:DeleteLaunchTemplate" -> {
                return resource.equals(ec2 + "launch-template/*") && stackTag(condition, "ec2:ResourceTag/")
                        && Fleet.ROLE_WORKER.equals(condition.path("StringEquals").path("ec2:ResourceTag/" + Fleet.ROLE_TAG).asText())
                        ? null : "only launch templates tagged " + Fleet.STACK_TAG + "=" + STACK + " and " + Fleet.ROLE_TAG + "="
                        + Fleet.ROLE_WORKER;
            }
            case "ec2:RunInstances", "ec2:CreateFleet" -> {
                boolean fleet = action.equals("ec2:CreateFleet") && resource.equals(ec2 + "fleet/*");
                if (resource.equals(ec2 + "instance/*") || resource.equals(ec2 + "volume/*") || fleet) {
                    return stackTag(condition, "aws:RequestTag/") ? null
                            : "instances and volumes must be launched with the tag " + Fleet.STACK_TAG + "=" + STACK
                            + " (StringEquals aws:RequestTag/" + Fleet.STACK_TAG + ")";
                }
                for (String type : List.of("network-interface", "subnet", "security-group", "launch-template", "key-pair",
                        "spot-instances-request")) {
                    if (resource.equals(ec2 + type + "/*")) {
                        return null;
                    }
                }
                return resource.equals("arn:aws:ec2:" + REGION + "::image/*") ? null
                        : "not a resource RunInstances uses in " + REGION;
            }
            case "ec2:CreateTags" -> {
                if (!List.of("instance/*", "volume/*", "fleet/*", "launch-template/*").contains(
                        resource.substring(Math.min(resource.length(), ec2.length())))
                        || !resource.startsWith(ec2)) {
                    return "expected instances, volumes, EC2 Fleets or launch templates of " + REGION;
                }
                List<String> createActions = strings(condition.path("StringEquals").path("ec2:CreateAction"));
                boolean atLaunch = !createActions.isEmpty()
                        && Set.of("RunInstances", "CreateFleet", "CreateLaunchTemplate").containsAll(createActions)
                        && stackTag(condition, "aws:RequestTag/");
                boolean stateOnly = resource.equals(ec2 + "instance/*") && stackTag(condition, "ec2:ResourceTag/")
                        && strings(condition.path("ForAllValues:StringEquals").path("aws:TagKeys")).equals(List.of(Fleet.STATE_TAG));
                return atLaunch || stateOnly ? null
                        : "tags only at creation (ec2:CreateAction RunInstances, CreateFleet or CreateLaunchTemplate, with"
                        + " the stack tag) or only the "
                        + Fleet.STATE_TAG + " tag of the stack's instances (ec2:ResourceTag and aws:TagKeys)";
            }
            case "ec2:TerminateInstances" -> {
                return resource.equals(ec2 + "instance/*") && stackTag(condition, "ec2:ResourceTag/")
                        && Fleet.ROLE_WORKER.equals(condition.path("StringEquals").path("ec2:ResourceTag/" + Fleet.ROLE_TAG).asText())
                        ? null : "only instances tagged " + Fleet.STACK_TAG + "=" + STACK + " and " + Fleet.ROLE_TAG + "="
                        + Fleet.ROLE_WORKER;
            }
            case "iam:PassRole" -> {
                return resource.equals("arn:aws:iam::" + ACCOUNT + ":role/" + WORKER_ROLE)
                        && "ec2.amazonaws.com".equals(condition.path("StringEquals").path("iam:PassedToService").asText())
                        ? null : "only the workers' role " + WORKER_ROLE + ", passed to ec2.amazonaws.com";
            }
            default -> {
                if (action.startsWith("sqs:")) {
                    return queues.stream().anyMatch(q -> resource.equals("arn:aws:sqs:" + REGION + ":" + ACCOUNT + ":" + q))
                            ? null : "expected one of the stack's queues " + queues;
                }
                return "no scoping rule for this action in IamPolicyTest.checkResource";
            }
        }
    }

    private static boolean stackTag(JsonNode condition, String prefix) {
        return STACK.equals(condition.path("StringEquals").path(prefix + Fleet.STACK_TAG).asText());
    }

    /** {@code *}, or a key prefix imgscale writes under followed by {@code *}, or one of its fixed keys. */
    private static boolean objectKeyPattern(String key) {
        if (Set.of(ObjectStoreWorkerBoard.STATE, S3Lease.KEY).contains(key)) {
            return true;
        }
        if (!key.endsWith("*") || key.indexOf('*') != key.length() - 1) {
            return false;
        }
        String prefix = key.substring(0, key.length() - 1);
        return Set.of("", Keys.INPUT, Keys.SHARDS, Keys.RESULTS, Keys.JOBS, "fleet/", ObjectStoreWorkerBoard.WORKERS,
                ObjectStoreWorkerBoard.DRAIN).contains(prefix);
    }
}
