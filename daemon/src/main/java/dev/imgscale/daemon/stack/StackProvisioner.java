package dev.imgscale.daemon.stack;

import dev.imgscale.daemon.local.FileParameterStore;
import dev.imgscale.daemon.port.ParameterStore;
import dev.imgscale.daemon.wire.StackNames;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.aws.StackLaunchTemplates;
import dev.imgscale.daemon.local.LocalStack;
import dev.imgscale.daemon.stack.InitReport.Outcome;
import dev.imgscale.daemon.stack.InitReport.Resource;
import dev.imgscale.daemon.stack.InitReport.Step;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import software.amazon.awssdk.awscore.exception.AwsServiceException;

/**
 * Creates a stack ({@link #init}) and removes it ({@link #destroy}): two private, encrypted buckets,
 * the request queue with its dead-letter queue, the result queue, and the stack's parameters. The
 * same code runs against AWS and against the {@linkplain LocalStack local stack}, through the
 * clients of one {@link AwsClients}. The buckets are {@link StackBuckets}' work and the queues
 * {@link StackQueues}'; this class checks the settings, puts the steps in order and writes the
 * parameters.
 *
 * <p>{@code init} is idempotent: it looks before it creates, and it reports each resource as
 * created, already there, updated (it existed with other settings, which init changed), or not
 * supported here. Running it twice changes nothing. In order:
 *
 * <ol>
 *   <li>Buckets: CreateBucket (with a LocationConstraint outside us-east-1), then all four public
 *       access blocks on and default encryption (SSE-S3, AES256; a bucket already encrypted with KMS
 *       is left as it is).
 *   <li>The dead-letter queue, keeping messages 14 days; the request queue, redriving to it after
 *       {@link StackConfig#maxReceives()} receives, with the stack's visibility timeout and 20 s long
 *       polling; the result queue. All three encrypted with SQS-managed keys (SSE-SQS; a queue
 *       already encrypted with KMS is left as it is). A queue with other settings is converged with
 *       SetQueueAttributes.
 *   <li>The parameters ({@link #stackParameters}) in the {@link ParameterStore}; only changed values
 *       are written.
 * </ol>
 *
 * <p>What the local stack cannot do, measured with S3Proxy 2.4.1 and ElasticMQ 1.6.11: S3Proxy
 * answers PutPublicAccessBlock and PutBucketEncryption with HTTP 500 (it parses the body as a
 * CreateBucket request) and rejects any LocationConstraint; ElasticMQ rejects SqsManagedSseEnabled in
 * SetQueueAttributes (InvalidAttributeName), silently drops it in CreateQueue, and ignores
 * MessageRetentionPeriod. On the local stack these are reported as "not supported here"; against AWS
 * (or any endpoint that is not the local stack) a protection that cannot be applied fails init.
 *
 * <p>{@code destroy} deletes the queues, empties and deletes the buckets, deletes the workers' launch
 * templates the controller wrote ({@link StackLaunchTemplates}; on AWS) and deletes the parameters;
 * what is already gone is reported as such. Versioned buckets are out of scope: destroy deletes the
 * current objects only, so a bucket with versioning on keeps its old versions and delete markers, and
 * DeleteBucket fails with a message saying so.
 *
 * <p>AWS behaviour worth knowing: SQS refuses to create a queue under a name deleted less than 60 s
 * before (init says to wait a minute); attribute changes take up to 60 s to show in
 * GetQueueAttributes, so an init right after one that updated a queue may report it updated again
 * (harmlessly). IAM actions used: s3:CreateBucket, s3:ListBucket (HeadBucket, ListObjectsV2),
 * s3:Get/PutBucketPublicAccessBlock, s3:Get/PutEncryptionConfiguration, s3:DeleteObject,
 * s3:DeleteBucket; sqs:GetQueueUrl, sqs:CreateQueue, sqs:GetQueueAttributes, sqs:SetQueueAttributes,
 * sqs:DeleteQueue; and the parameter store's (see {@link SsmParameterStore}).
 */
public final class StackProvisioner {

    /** The request queue's default long poll, the longest SQS allows. */
    public static final int LONG_POLL_SECONDS = 20;

    /** How long the dead-letter queue keeps a message: SQS's maximum, time to look at it. */
    public static final Duration DEAD_LETTER_RETENTION = Duration.ofDays(14);

    /** SQS's largest visibility timeout, 12 hours. */
    static final int MAX_VISIBILITY_SECONDS = 43_200;

    /** ListObjectsV2's and DeleteObjects' largest page. */
    static final int LIST_PAGE = 1000;

    /** SQS's largest maxReceiveCount in a redrive policy. */
    static final int MAX_RECEIVE_COUNT = 1000;

    private static final Pattern BUCKET_NAME = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    private static final Pattern QUEUE_NAME = Pattern.compile("[A-Za-z0-9_-]{1,80}");

    private final AwsClients clients;
    private final ParameterStore parameters;
    private final StackBuckets buckets;
    private final StackQueues queues;

    /**
     * @param clients    the clients for the stack's region or the local stack; the caller closes them
     * @param parameters where the stack's parameters go: SSM on AWS, a file for the local stack
     */
    public StackProvisioner(AwsClients clients, ParameterStore parameters) {
        this(clients, parameters, LIST_PAGE);
    }

    /** With a smaller listing page, so that tests see destroy page through a bucket. */
    StackProvisioner(AwsClients clients, ParameterStore parameters, int listPage) {
        this.clients = Objects.requireNonNull(clients, "clients");
        this.parameters = Objects.requireNonNull(parameters, "parameters");
        if (listPage < 1 || listPage > LIST_PAGE) {
            throw new IllegalArgumentException("listPage must be 1-" + LIST_PAGE + ": " + listPage);
        }
        this.buckets = new StackBuckets(clients, listPage);
        this.queues = new StackQueues(clients);
    }

    /**
     * Creates whatever of the stack is missing and converges what differs; see the class comment.
     *
     * @param cfg              the stack: names, model, queue settings, and whether it is local
     * @param extraParameters  further configuration keys to store with the stack (such as
     *                         {@code region}); they win over the values taken from {@code cfg}; may be null
     * @throws ImgscaleException for a failure the user can fix (credentials, permissions, region, a
     *     bucket name taken by another account, invalid names or settings), before or during the work
     */
    /**
     * Creates the stack in a freshly started local stack, with its parameters in the file store
     * beside the stack's objects (where {@link StackOpener} reads them), from configuration values.
     */
    public static StackConfig initLocal(LocalStack local, AwsClients clients, Map<String, String> values) {
        StackConfig config = ConfigLoader.build(values, local.settings(), true, null);
        new StackProvisioner(clients, new FileParameterStore(local.dataDir().resolve("params"))).init(config, Map.of());
        return config;
    }

    public InitReport init(StackConfig cfg, Map<String, String> extraParameters) {
        StackNames names = cfg.names();
        checkSettings(cfg);
        Map<String, String> wantedParameters = stackParameters(cfg, extraParameters);
        List<Step> steps = new ArrayList<>();
        for (String bucket : distinct(names.inputBucket(), names.outputBucket())) {
            buckets.ensureBucket(cfg, bucket, steps);
        }
        StackQueues.QueueState deadLetters = queues.ensureQueue(cfg, names.deadLetterQueue(), StackQueues.deadLetterAttributes(), steps);
        queues.ensureQueue(cfg, names.requestQueue(), StackQueues.requestAttributes(cfg, deadLetters.arn()), steps);
        queues.ensureQueue(cfg, names.resultQueue(), Map.of(), steps);
        steps.add(writeParameters(names.stack(), wantedParameters));
        return new InitReport(names.stack(), steps);
    }

    /**
     * Deletes the stack's queues, the objects in its buckets and the buckets, and its parameters.
     * Harmless when some or all of it is already gone. Versioned buckets are not supported: see the
     * class comment.
     *
     * @throws ImgscaleException for a failure the user can fix (credentials, permissions, a bucket
     *     that keeps filling up or keeps old versions)
     */
    public DestroyReport destroy(StackConfig cfg) {
        StackNames names = cfg.names();
        List<DestroyReport.Step> steps = new ArrayList<>();
        // The request queue first: while it exists it redrives into the dead-letter queue.
        for (String queue : distinct(names.requestQueue(), names.resultQueue(), names.deadLetterQueue())) {
            steps.add(queues.deleteQueue(queue));
        }
        for (String bucket : distinct(names.inputBucket(), names.outputBucket())) {
            steps.add(buckets.deleteBucket(cfg, bucket));
        }
        if (!cfg.local()) {
            // the worker templates the controller wrote (the local stack launches processes, no EC2)
            List<String> templates = StackLaunchTemplates.delete(clients.ec2(), names.stack());
            String pattern = "imgscale-" + names.stack() + "-worker-*";
            steps.add(templates.isEmpty()
                    ? new DestroyReport.Step(Resource.LAUNCH_TEMPLATES, pattern, DestroyReport.Outcome.ALREADY_GONE, "")
                    : new DestroyReport.Step(Resource.LAUNCH_TEMPLATES, pattern, DestroyReport.Outcome.DELETED,
                            plural(templates.size(), "template")));
        }
        String location = parameters.location(names.stack());
        Map<String, String> existing = parameters.read(names.stack());
        if (existing.isEmpty()) {
            steps.add(new DestroyReport.Step(Resource.PARAMETERS, location, DestroyReport.Outcome.ALREADY_GONE, ""));
        } else {
            parameters.delete(names.stack());
            steps.add(new DestroyReport.Step(Resource.PARAMETERS, location, DestroyReport.Outcome.DELETED,
                    plural(existing.size(), "parameter")));
        }
        return new DestroyReport(names.stack(), steps);
    }

    /**
     * The parameters init stores for a stack: {@code model}, the bucket and queue names,
     * {@code visibility-timeout} (seconds) and {@code max-receives}, then {@code extra}. The stack
     * name is not among them (it is part of where they are kept), nor is a profile (it names
     * credentials on one machine).
     *
     * @throws ImgscaleException for an unknown key, {@code stack} or {@code profile}, or an empty value
     */
    public static Map<String, String> stackParameters(StackConfig cfg, Map<String, String> extra) {
        StackNames n = cfg.names();
        Map<String, String> p = new LinkedHashMap<>();
        p.put("model", cfg.model());
        p.put("input-bucket", n.inputBucket());
        p.put("output-bucket", n.outputBucket());
        p.put("request-queue", n.requestQueue());
        p.put("dead-letter-queue", n.deadLetterQueue());
        p.put("result-queue", n.resultQueue());
        p.put("visibility-timeout", Long.toString(cfg.visibilityTimeout().toSeconds()));
        p.put("max-receives", Integer.toString(cfg.maxReceives()));
        if (!cfg.sourceBuckets().isEmpty()) {
            p.put(StackConfig.SOURCE_BUCKETS, String.join(",", cfg.sourceBuckets()));
        }
        if (extra != null) {
            extra.forEach((rawKey, value) -> {
                String key = ConfigLoader.normalise(rawKey);
                if (!ConfigLoader.KEYS.contains(key)) {
                    throw new ImgscaleException("Unknown parameter '" + rawKey + "'; known keys: "
                            + String.join(", ", ConfigLoader.KEYS) + ".");
                }
                if (key.equals("stack") || key.equals("profile")) {
                    throw new ImgscaleException("The " + key + " is not stored with the stack's parameters: "
                            + (key.equals("stack") ? "it is part of their path." : "it names credentials on one machine only."));
                }
                if (value == null || value.isBlank()) {
                    throw new ImgscaleException("The parameter " + key + " needs a value.");
                }
                p.put(key, value.strip());
            });
        }
        return p;
    }

    // ---- checks --------------------------------------------------------------------------------

    private static void checkSettings(StackConfig cfg) {
        StackNames n = cfg.names();
        for (String bucket : distinct(n.inputBucket(), n.outputBucket())) {
            if (!BUCKET_NAME.matcher(bucket).matches() || bucket.contains("..")) {
                throw new ImgscaleException("The bucket name '" + bucket + "' is not valid: S3 wants 3-63 characters of"
                        + " a-z, 0-9, '.' and '-'" + (bucket.length() > 63 ? " (use a shorter stack name)" : "")
                        + "; set input-bucket / output-bucket or choose another --stack.");
            }
        }
        Set<String> queues = new LinkedHashSet<>();
        for (String queue : List.of(n.requestQueue(), n.deadLetterQueue(), n.resultQueue())) {
            if (!QUEUE_NAME.matcher(queue).matches()) {
                throw new ImgscaleException("The queue name '" + queue + "' is not valid: SQS wants 1-80 characters of"
                        + " letters, digits, '-' and '_'; fix request-queue / dead-letter-queue / result-queue.");
            }
            if (!queues.add(queue)) {
                throw new ImgscaleException("The request, dead-letter and result queues must be three different"
                        + " queues, but '" + queue + "' is named twice; fix the queue names in the configuration.");
            }
        }
        long visibility = cfg.visibilityTimeout().toSeconds();
        if (visibility < 0 || visibility > MAX_VISIBILITY_SECONDS) {
            throw new ImgscaleException("visibility-timeout must be 0-" + MAX_VISIBILITY_SECONDS
                    + " seconds (12 hours), not " + visibility + ".");
        }
        if (cfg.maxReceives() > MAX_RECEIVE_COUNT) {
            throw new ImgscaleException("max-receives must be at most " + MAX_RECEIVE_COUNT + ", not " + cfg.maxReceives() + ".");
        }
    }

    // ---- parameters ----------------------------------------------------------------------------

    private Step writeParameters(String stack, Map<String, String> wanted) {
        String location = parameters.location(stack);
        Map<String, String> existing = parameters.read(stack);
        Map<String, String> changed = new LinkedHashMap<>();
        List<String> details = new ArrayList<>();
        wanted.forEach((key, value) -> {
            String old = existing.get(key);
            if (!value.equals(old)) {
                changed.put(key, value);
                details.add(old == null ? key + " set" : key + " " + old + " -> " + value);
            }
        });
        if (changed.isEmpty()) {
            return new Step(Resource.PARAMETERS, location, Outcome.ALREADY_THERE, "");
        }
        parameters.write(stack, changed);
        return existing.isEmpty()
                ? new Step(Resource.PARAMETERS, location, Outcome.CREATED, plural(changed.size(), "parameter"))
                : new Step(Resource.PARAMETERS, location, Outcome.UPDATED, String.join(", ", details));
    }

    // ---- small things --------------------------------------------------------------------------

    static String errorCode(AwsServiceException e) {
        return e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
    }

    private static List<String> distinct(String... names) {
        return List.copyOf(new LinkedHashSet<>(List.of(names)));
    }

    static String plural(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }
}
