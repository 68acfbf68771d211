package dev.imgscale.daemon.stack;

import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.aws.AwsFailure;
import dev.imgscale.daemon.local.FileParameterStore;
import dev.imgscale.daemon.port.ParameterStore;
import dev.imgscale.daemon.wire.StackNames;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.local.LocalStack;
import dev.imgscale.daemon.stack.InitReport.Outcome;
import dev.imgscale.daemon.stack.InitReport.Resource;
import dev.imgscale.daemon.stack.InitReport.Step;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.BucketAlreadyExistsException;
import software.amazon.awssdk.services.s3.model.BucketAlreadyOwnedByYouException;
import software.amazon.awssdk.services.s3.model.CreateBucketRequest;
import software.amazon.awssdk.services.s3.model.DeleteObjectsResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.PublicAccessBlockConfiguration;
import software.amazon.awssdk.services.s3.model.S3Error;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;
import software.amazon.awssdk.services.s3.model.ServerSideEncryptionConfiguration;
import software.amazon.awssdk.services.s3.model.ServerSideEncryptionRule;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.InvalidAttributeNameException;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.QueueDeletedRecentlyException;
import software.amazon.awssdk.services.sqs.model.QueueDoesNotExistException;
import software.amazon.awssdk.services.sqs.model.QueueNameExistsException;

/**
 * Creates a stack ({@link #init}) and removes it ({@link #destroy}): two private, encrypted buckets,
 * the request queue with its dead-letter queue, the result queue, and the stack's parameters. The
 * same code runs against AWS and against the {@linkplain LocalStack local stack}, through the
 * clients of one {@link AwsClients}.
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
 * <p>{@code destroy} deletes the queues, empties and deletes the buckets, and deletes the parameters;
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

    private static final String US_EAST_1 = "us-east-1";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern BUCKET_NAME = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    private static final Pattern QUEUE_NAME = Pattern.compile("[A-Za-z0-9_-]{1,80}");
    private static final PublicAccessBlockConfiguration BLOCK_ALL = PublicAccessBlockConfiguration.builder()
            .blockPublicAcls(true)
            .ignorePublicAcls(true)
            .blockPublicPolicy(true)
            .restrictPublicBuckets(true)
            .build();

    /**
     * For calls the local S3 does not implement: its HTTP 500 is deterministic, so retrying it only
     * adds stack traces to the local stack's log.
     */
    private static final AwsRequestOverrideConfiguration NO_RETRY = AwsRequestOverrideConfiguration.builder()
            .addPlugin(config -> config.overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry())))
            .build();

    private final AwsClients clients;
    private final ParameterStore parameters;
    private final int listPage;

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
        this.listPage = listPage;
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
            ensureBucket(cfg, bucket, steps);
        }
        QueueState deadLetters = ensureQueue(cfg, names.deadLetterQueue(), deadLetterAttributes(), steps);
        ensureQueue(cfg, names.requestQueue(), requestAttributes(cfg, deadLetters.arn()), steps);
        ensureQueue(cfg, names.resultQueue(), Map.of(), steps);
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
            steps.add(deleteQueue(queue));
        }
        for (String bucket : distinct(names.inputBucket(), names.outputBucket())) {
            steps.add(deleteBucket(cfg, bucket));
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

    /** CreateBucket, with a LocationConstraint where S3 wants one (outside us-east-1, and never locally). */
    static CreateBucketRequest createBucketRequest(String bucket, String region, boolean local) {
        CreateBucketRequest.Builder request = CreateBucketRequest.builder().bucket(bucket);
        // us-east-1 takes no constraint (S3 rejects "us-east-1" as one), and S3Proxy rejects every one.
        if (!local && !US_EAST_1.equals(region)) {
            request.createBucketConfiguration(c -> c.locationConstraint(region));
        }
        return request.build();
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

    // ---- buckets -------------------------------------------------------------------------------

    private void ensureBucket(StackConfig cfg, String bucket, List<Step> steps) {
        Outcome outcome = createBucketIfMissing(cfg, bucket);
        boolean created = outcome == Outcome.CREATED;
        steps.add(new Step(Resource.BUCKET, bucket, outcome, ""));
        steps.add(ensurePublicAccessBlock(cfg, bucket, created));
        steps.add(ensureEncryption(cfg, bucket, created));
    }

    private Outcome createBucketIfMissing(StackConfig cfg, String bucket) {
        S3Client s3 = clients.s3();
        try {
            s3.headBucket(r -> r.bucket(bucket));
            return Outcome.ALREADY_THERE;
        } catch (NoSuchBucketException e) {
            // Create it below.
        } catch (S3Exception e) {
            // 403: another account's bucket, or ours without s3:ListBucket; CreateBucket tells which.
            if (e.statusCode() != 403 && e.statusCode() != 404) {
                throw translate(e, "s3:ListBucket", "bucket " + bucket);
            }
        } catch (SdkException e) {
            throw translate(e, "s3:ListBucket", "bucket " + bucket);
        }
        try {
            s3.createBucket(createBucketRequest(bucket, region(), cfg.local()));
        } catch (BucketAlreadyOwnedByYouException e) {
            return Outcome.ALREADY_THERE;
        } catch (BucketAlreadyExistsException e) {
            throw new ImgscaleException("The bucket name " + bucket + " is taken by another AWS account (bucket names are"
                    + " global): choose another stack name with --stack, or set input-bucket / output-bucket.", e);
        } catch (SdkException e) {
            throw translate(e, "s3:CreateBucket", "bucket " + bucket);
        }
        if (!cfg.local()) {
            // A new bucket can take a moment to be visible to the calls that follow.
            try {
                s3.waiter().waitUntilBucketExists(r -> r.bucket(bucket));
            } catch (SdkException e) {
                throw translate(e, "s3:ListBucket", "bucket " + bucket);
            }
        }
        return Outcome.CREATED;
    }

    private Step ensurePublicAccessBlock(StackConfig cfg, String bucket, boolean created) {
        if (cfg.local()) {
            // S3Proxy fails PutPublicAccessBlock with a 500 and a logged stack trace: do not ask it
            return new Step(Resource.BUCKET_PUBLIC_ACCESS_BLOCK, bucket, Outcome.NOT_SUPPORTED,
                    "the local S3 has no public access; it listens on 127.0.0.1 only");
        }
        S3Client s3 = clients.s3();
        String action = "s3:GetBucketPublicAccessBlock";
        try {
            PublicAccessBlockConfiguration current = null;
            try {
                current = s3.getPublicAccessBlock(r -> r.bucket(bucket)).publicAccessBlockConfiguration();
            } catch (S3Exception e) {
                if (!"NoSuchPublicAccessBlockConfiguration".equals(errorCode(e))) {
                    throw e;
                }
            }
            if (current != null && BLOCK_ALL.equals(current)) {
                return new Step(Resource.BUCKET_PUBLIC_ACCESS_BLOCK, bucket, created ? Outcome.CREATED : Outcome.ALREADY_THERE, "");
            }
            action = "s3:PutBucketPublicAccessBlock";
            s3.putPublicAccessBlock(r -> r.bucket(bucket).publicAccessBlockConfiguration(BLOCK_ALL)
                    .overrideConfiguration(requestConfig(cfg)));
            return new Step(Resource.BUCKET_PUBLIC_ACCESS_BLOCK, bucket, created ? Outcome.CREATED : Outcome.UPDATED,
                    created ? "" : "all four blocks on");
        } catch (S3Exception e) {
            if (notImplemented(e)) {
                return unsupported(cfg, Resource.BUCKET_PUBLIC_ACCESS_BLOCK, bucket, action, e,
                        "cannot be made private");
            }
            throw translate(e, action, "bucket " + bucket);
        } catch (SdkException e) {
            throw translate(e, action, "bucket " + bucket);
        }
    }

    private Step ensureEncryption(StackConfig cfg, String bucket, boolean created) {
        if (cfg.local()) {
            // S3Proxy fails PutBucketEncryption with a 500 and a logged stack trace: do not ask it
            return new Step(Resource.BUCKET_ENCRYPTION, bucket, Outcome.NOT_SUPPORTED,
                    "the local S3 keeps objects as plain files in its data folder");
        }
        S3Client s3 = clients.s3();
        String action = "s3:GetEncryptionConfiguration";
        try {
            Optional<String> algorithm = Optional.empty();
            try {
                algorithm = defaultAlgorithm(s3.getBucketEncryption(r -> r.bucket(bucket)).serverSideEncryptionConfiguration());
            } catch (S3Exception e) {
                if (!"ServerSideEncryptionConfigurationNotFoundError".equals(errorCode(e))) {
                    throw e;
                }
            }
            if (algorithm.isPresent()) {
                // Any default encryption will do: a bucket someone moved to KMS is not downgraded.
                return new Step(Resource.BUCKET_ENCRYPTION, bucket, created ? Outcome.CREATED : Outcome.ALREADY_THERE,
                        algorithm.get());
            }
            action = "s3:PutEncryptionConfiguration";
            s3.putBucketEncryption(r -> r.bucket(bucket)
                    .serverSideEncryptionConfiguration(c -> c.rules(ServerSideEncryptionRule.builder()
                            .applyServerSideEncryptionByDefault(d -> d.sseAlgorithm(ServerSideEncryption.AES256))
                            .build()))
                    .overrideConfiguration(requestConfig(cfg)));
            return new Step(Resource.BUCKET_ENCRYPTION, bucket, created ? Outcome.CREATED : Outcome.UPDATED,
                    ServerSideEncryption.AES256.toString());
        } catch (S3Exception e) {
            if (notImplemented(e)) {
                return unsupported(cfg, Resource.BUCKET_ENCRYPTION, bucket, action, e, "cannot be encrypted");
            }
            throw translate(e, action, "bucket " + bucket);
        } catch (SdkException e) {
            throw translate(e, action, "bucket " + bucket);
        }
    }

    private static Optional<String> defaultAlgorithm(ServerSideEncryptionConfiguration configuration) {
        if (configuration == null) {
            return Optional.empty();
        }
        return configuration.rules().stream()
                .filter(rule -> rule.applyServerSideEncryptionByDefault() != null)
                .map(rule -> rule.applyServerSideEncryptionByDefault().sseAlgorithmAsString())
                .filter(a -> a != null && !a.isBlank())
                .findFirst();
    }

    /**
     * True when the S3 endpoint does not implement a call: 501 NotImplemented, or the HTTP 500 without
     * an error code that S3Proxy gives for bodies it cannot parse (AWS's own 500 says InternalError).
     */
    private static boolean notImplemented(S3Exception e) {
        return e.statusCode() == 501 || "NotImplemented".equals(errorCode(e))
                || (e.statusCode() == 500 && errorCode(e) == null);
    }

    private static Step unsupported(StackConfig cfg, Resource resource, String bucket, String action, S3Exception e,
            String consequence) {
        String answer = "HTTP " + e.statusCode() + (errorCode(e) == null ? "" : " " + errorCode(e));
        if (cfg.local()) {
            return new Step(resource, bucket, Outcome.NOT_SUPPORTED, "the local S3 answers " + action + " with " + answer);
        }
        throw new ImgscaleException("The S3 endpoint answers " + action + " with " + answer + ", so bucket " + bucket + " "
                + consequence + ": use AWS S3, or --local for the embedded stack.", e);
    }

    private static AwsRequestOverrideConfiguration requestConfig(StackConfig cfg) {
        return cfg.local() ? NO_RETRY : null;
    }

    private DestroyReport.Step deleteBucket(StackConfig cfg, String bucket) {
        S3Client s3 = clients.s3();
        long deleted = 0;
        for (int attempt = 1; ; attempt++) {
            String action = "s3:ListBucket";
            try {
                deleted += emptyBucket(cfg, bucket);
                action = "s3:DeleteBucket";
                s3.deleteBucket(r -> r.bucket(bucket));
                return new DestroyReport.Step(Resource.BUCKET, bucket, DestroyReport.Outcome.DELETED, plural(deleted, "object"));
            } catch (NoSuchBucketException e) {
                return new DestroyReport.Step(Resource.BUCKET, bucket,
                        deleted == 0 ? DestroyReport.Outcome.ALREADY_GONE : DestroyReport.Outcome.DELETED,
                        deleted == 0 ? "" : plural(deleted, "object"));
            } catch (S3Exception e) {
                if ("BucketNotEmpty".equals(errorCode(e))) {
                    if (attempt < 3) {
                        continue; // objects arrived while we emptied it: empty it again
                    }
                    throw new ImgscaleException("The bucket " + bucket + " is not empty after emptying it " + attempt
                            + " times: stop uploads and workers, and if the bucket has versioning on, delete its old"
                            + " versions (imgscale does not), then run destroy again.", e);
                }
                throw translate(e, action, "bucket " + bucket);
            } catch (SdkException e) {
                throw translate(e, action, "bucket " + bucket);
            }
        }
    }

    /**
     * Deletes every object, one listing page (up to 1000 keys) and one DeleteObjects call at a time,
     * and returns how many it deleted.
     *
     * <p>On the local stack the directory entries S3Proxy lists ({@code input/}, {@code input/job/})
     * are not sent: they vanish with the last file below them, and asking S3Proxy to delete one that
     * still has files below takes it 10-20 s per entry (measured) and does nothing.
     */
    private long emptyBucket(StackConfig cfg, String bucket) {
        S3Client s3 = clients.s3();
        long deleted = 0;
        String token = null;
        do {
            String continuation = token;
            ListObjectsV2Response page = s3.listObjectsV2(r -> r.bucket(bucket).maxKeys(listPage).continuationToken(continuation));
            List<ObjectIdentifier> ids = page.contents().stream()
                    .map(S3Object::key)
                    .filter(key -> !(cfg.local() && Keys.isFolderMarker(key)))
                    .map(key -> ObjectIdentifier.builder().key(key).build())
                    .toList();
            if (!ids.isEmpty()) {
                DeleteObjectsResponse response;
                try {
                    response = s3.deleteObjects(r -> r.bucket(bucket).delete(d -> d.quiet(true).objects(ids)));
                } catch (SdkException e) {
                    throw translate(e, "s3:DeleteObject", "bucket " + bucket);
                }
                if (!response.errors().isEmpty()) {
                    S3Error first = response.errors().get(0);
                    throw new ImgscaleException("Cannot delete s3://" + bucket + "/" + first.key() + " (" + first.code() + ": "
                            + first.message() + ")" + (response.errors().size() > 1
                                    ? " nor " + (response.errors().size() - 1) + " other objects" : "")
                            + "; grant s3:DeleteObject on the bucket, then run destroy again.");
                }
                deleted += ids.size();
            }
            token = Boolean.TRUE.equals(page.isTruncated()) ? page.nextContinuationToken() : null;
        } while (token != null);
        return deleted;
    }

    // ---- queues --------------------------------------------------------------------------------

    private record QueueState(String url, String arn) {
    }

    private static Map<QueueAttributeName, String> deadLetterAttributes() {
        return Map.of(QueueAttributeName.MESSAGE_RETENTION_PERIOD, Long.toString(DEAD_LETTER_RETENTION.toSeconds()));
    }

    private static Map<QueueAttributeName, String> requestAttributes(StackConfig cfg, String deadLetterArn) {
        Map<QueueAttributeName, String> attributes = new EnumMap<>(QueueAttributeName.class);
        attributes.put(QueueAttributeName.VISIBILITY_TIMEOUT, Long.toString(cfg.visibilityTimeout().toSeconds()));
        attributes.put(QueueAttributeName.RECEIVE_MESSAGE_WAIT_TIME_SECONDS, Integer.toString(LONG_POLL_SECONDS));
        attributes.put(QueueAttributeName.REDRIVE_POLICY, redrivePolicy(deadLetterArn, cfg.maxReceives()));
        return attributes;
    }

    static String redrivePolicy(String deadLetterArn, int maxReceives) {
        return JSON.createObjectNode()
                .put("deadLetterTargetArn", deadLetterArn)
                .put("maxReceiveCount", maxReceives)
                .toString();
    }

    /**
     * Makes sure the queue exists with {@code wanted} and encryption, and adds its two steps.
     * An attribute that AWS always reports but the local SQS leaves out of GetQueueAttributes is one
     * it does not keep (ElasticMQ and MessageRetentionPeriod): reported, and not sent again.
     */
    private QueueState ensureQueue(StackConfig cfg, String name, Map<QueueAttributeName, String> wanted, List<Step> steps) {
        SqsClient sqs = clients.sqs();
        String url = queueUrl(name);
        boolean created = false;
        if (url == null) {
            Map<QueueAttributeName, String> attributes = new EnumMap<>(QueueAttributeName.class);
            attributes.putAll(wanted);
            if (!cfg.local()) {
                attributes.put(QueueAttributeName.SQS_MANAGED_SSE_ENABLED, "true");
            }
            try {
                url = sqs.createQueue(r -> r.queueName(name).attributes(attributes)).queueUrl();
                created = true;
            } catch (QueueNameExistsException e) {
                // Someone created it meanwhile, with other attributes: converge below.
                url = queueUrl(name);
            } catch (QueueDeletedRecentlyException e) {
                throw new ImgscaleException("The queue " + name + " was deleted less than a minute ago, and SQS keeps"
                        + " a deleted queue's name for 60 s: wait a minute and run init again.", e);
            } catch (SdkException e) {
                throw translate(e, "sqs:CreateQueue", "queue " + name);
            }
            if (url == null) {
                throw new IllegalStateException("SQS says the queue " + name + " exists, then that it does not");
            }
        }
        String queueUrl = url;
        Map<String, String> actual = queueAttributes(queueUrl, name);
        Map<QueueAttributeName, String> changes = new EnumMap<>(QueueAttributeName.class);
        List<String> details = new ArrayList<>();
        List<String> notKept = new ArrayList<>();
        for (Map.Entry<QueueAttributeName, String> want : wanted.entrySet()) {
            String have = actual.get(want.getKey().toString());
            if (have == null && want.getKey() != QueueAttributeName.REDRIVE_POLICY && cfg.local()) {
                notKept.add(want.getKey().toString());
            } else if (!created && !sameAttribute(want.getKey(), have, want.getValue())) {
                // Just created: the values are ours; a difference now is only propagation delay.
                changes.put(want.getKey(), want.getValue());
                details.add(describeChange(want.getKey(), have, want.getValue()));
            }
        }
        if (!changes.isEmpty()) {
            try {
                sqs.setQueueAttributes(r -> r.queueUrl(queueUrl).attributes(changes));
            } catch (SdkException e) {
                throw translate(e, "sqs:SetQueueAttributes", "queue " + name);
            }
        }
        if (!notKept.isEmpty()) {
            details.add(String.join(", ", notKept) + " not supported here");
        }
        Outcome outcome = created ? Outcome.CREATED : changes.isEmpty() ? Outcome.ALREADY_THERE : Outcome.UPDATED;
        steps.add(new Step(Resource.QUEUE, name, outcome, String.join("; ", details)));
        steps.add(ensureQueueEncryption(cfg, name, queueUrl, actual, created));
        String arn = actual.get(QueueAttributeName.QUEUE_ARN.toString());
        if (arn == null || arn.isBlank()) {
            throw new IllegalStateException("SQS reported no QueueArn for " + name);
        }
        return new QueueState(queueUrl, arn);
    }

    /**
     * SSE-SQS in a SetQueueAttributes call of its own: the local SQS rejects the attribute, and it
     * would take the other attributes of the same call down with it.
     */
    private Step ensureQueueEncryption(StackConfig cfg, String name, String url, Map<String, String> actual, boolean created) {
        if (cfg.local()) {
            // ElasticMQ drops the attribute on CreateQueue and rejects it on SetQueueAttributes, logging a warning each time
            return new Step(Resource.QUEUE_ENCRYPTION, name, Outcome.NOT_SUPPORTED, "the local SQS keeps messages in memory only");
        }
        String kmsKey = actual.get(QueueAttributeName.KMS_MASTER_KEY_ID.toString());
        if (kmsKey != null && !kmsKey.isBlank()) {
            return new Step(Resource.QUEUE_ENCRYPTION, name, created ? Outcome.CREATED : Outcome.ALREADY_THERE, "KMS key " + kmsKey);
        }
        if ("true".equalsIgnoreCase(actual.get(QueueAttributeName.SQS_MANAGED_SSE_ENABLED.toString()))) {
            return new Step(Resource.QUEUE_ENCRYPTION, name, created ? Outcome.CREATED : Outcome.ALREADY_THERE, "SSE-SQS");
        }
        try {
            clients.sqs().setQueueAttributes(r -> r.queueUrl(url)
                    .attributes(Map.of(QueueAttributeName.SQS_MANAGED_SSE_ENABLED, "true")));
            return new Step(Resource.QUEUE_ENCRYPTION, name, created ? Outcome.CREATED : Outcome.UPDATED, "SSE-SQS");
        } catch (AwsServiceException e) {
            boolean rejected = e instanceof InvalidAttributeNameException || "InvalidAttributeName".equals(errorCode(e));
            if (rejected && cfg.local()) {
                return new Step(Resource.QUEUE_ENCRYPTION, name, Outcome.NOT_SUPPORTED,
                        "the local SQS answers SqsManagedSseEnabled with " + errorCode(e));
            }
            if (rejected) {
                throw new ImgscaleException("The SQS endpoint rejects SqsManagedSseEnabled (" + errorCode(e) + "), so queue "
                        + name + " cannot be encrypted: use AWS SQS, or --local for the embedded stack.", e);
            }
            throw translate(e, "sqs:SetQueueAttributes", "queue " + name);
        } catch (SdkException e) {
            throw translate(e, "sqs:SetQueueAttributes", "queue " + name);
        }
    }

    private DestroyReport.Step deleteQueue(String name) {
        String url = queueUrl(name);
        if (url != null) {
            try {
                clients.sqs().deleteQueue(r -> r.queueUrl(url));
                return new DestroyReport.Step(Resource.QUEUE, name, DestroyReport.Outcome.DELETED, "");
            } catch (QueueDoesNotExistException e) {
                // Deleted meanwhile.
            } catch (SdkException e) {
                throw translate(e, "sqs:DeleteQueue", "queue " + name);
            }
        }
        return new DestroyReport.Step(Resource.QUEUE, name, DestroyReport.Outcome.ALREADY_GONE, "");
    }

    /** The queue's URL, or null when there is no such queue. */
    private String queueUrl(String name) {
        try {
            return clients.sqs().getQueueUrl(r -> r.queueName(name)).queueUrl();
        } catch (QueueDoesNotExistException e) {
            return null;
        } catch (SdkException e) {
            throw translate(e, "sqs:GetQueueUrl", "queue " + name);
        }
    }

    private Map<String, String> queueAttributes(String url, String name) {
        try {
            return clients.sqs().getQueueAttributes(r -> r.queueUrl(url).attributeNames(QueueAttributeName.ALL))
                    .attributesAsStrings();
        } catch (SdkException e) {
            throw translate(e, "sqs:GetQueueAttributes", "queue " + name);
        }
    }

    /** Numbers compare as text; a redrive policy by its target and count, whatever its JSON looks like. */
    static boolean sameAttribute(QueueAttributeName name, String have, String want) {
        if (have == null) {
            return false;
        }
        if (name == QueueAttributeName.REDRIVE_POLICY) {
            Optional<JsonNode> a = parse(have);
            Optional<JsonNode> b = parse(want);
            return a.isPresent() && b.isPresent()
                    && a.get().path("deadLetterTargetArn").asText().equals(b.get().path("deadLetterTargetArn").asText())
                    && a.get().path("maxReceiveCount").asInt(-1) == b.get().path("maxReceiveCount").asInt(-2);
        }
        return have.strip().equals(want.strip());
    }

    private static String describeChange(QueueAttributeName name, String have, String want) {
        if (name == QueueAttributeName.REDRIVE_POLICY) {
            Optional<JsonNode> a = have == null ? Optional.empty() : parse(have);
            JsonNode b = parse(want).orElseThrow();
            if (a.isPresent() && a.get().path("deadLetterTargetArn").asText().equals(b.path("deadLetterTargetArn").asText())) {
                return "maxReceiveCount " + a.get().path("maxReceiveCount").asText() + " -> " + b.path("maxReceiveCount").asText();
            }
            return "RedrivePolicy " + (have == null ? "unset" : have) + " -> " + want;
        }
        return name + " " + (have == null ? "unset" : have) + " -> " + want;
    }

    private static Optional<JsonNode> parse(String json) {
        try {
            return Optional.ofNullable(JSON.readTree(json));
        } catch (IOException e) {
            return Optional.empty();
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

    private String region() {
        return clients.region().id();
    }

    private RuntimeException translate(SdkException e, String action, String resource) {
        return AwsFailure.translate(e, action, resource, region());
    }

    private static String errorCode(AwsServiceException e) {
        return e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
    }

    private static List<String> distinct(String... names) {
        return List.copyOf(new LinkedHashSet<>(List.of(names)));
    }

    private static String plural(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }
}
