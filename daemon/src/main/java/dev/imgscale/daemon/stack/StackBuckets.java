package dev.imgscale.daemon.stack;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.aws.AwsFailure;
import dev.imgscale.daemon.stack.InitReport.Outcome;
import dev.imgscale.daemon.stack.InitReport.Resource;
import dev.imgscale.daemon.stack.InitReport.Step;
import dev.imgscale.daemon.wire.Keys;
import java.util.List;
import java.util.Optional;
import software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration;
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

/**
 * The stack's buckets for {@link StackProvisioner}: created private (all four public access blocks)
 * and encrypted by default (SSE-S3), or converged to that; emptied and deleted.
 */
final class StackBuckets {
    private static final String US_EAST_1 = "us-east-1";
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
    private final int listPage;

    StackBuckets(AwsClients clients, int listPage) {
        this.clients = clients;
        this.listPage = listPage;
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

    void ensureBucket(StackConfig cfg, String bucket, List<Step> steps) {
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
            s3.createBucket(createBucketRequest(bucket, clients.region().id(), cfg.local()));
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
                if (!"NoSuchPublicAccessBlockConfiguration".equals(StackProvisioner.errorCode(e))) {
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
                if (!"ServerSideEncryptionConfigurationNotFoundError".equals(StackProvisioner.errorCode(e))) {
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
        return e.statusCode() == 501 || "NotImplemented".equals(StackProvisioner.errorCode(e))
                || (e.statusCode() == 500 && StackProvisioner.errorCode(e) == null);
    }

    private static Step unsupported(StackConfig cfg, Resource resource, String bucket, String action, S3Exception e,
            String consequence) {
        String answer = "HTTP " + e.statusCode() + (StackProvisioner.errorCode(e) == null ? "" : " " + StackProvisioner.errorCode(e));
        if (cfg.local()) {
            return new Step(resource, bucket, Outcome.NOT_SUPPORTED, "the local S3 answers " + action + " with " + answer);
        }
        throw new ImgscaleException("The S3 endpoint answers " + action + " with " + answer + ", so bucket " + bucket + " "
                + consequence + ": use AWS S3, or --local for the embedded stack.", e);
    }

    private static AwsRequestOverrideConfiguration requestConfig(StackConfig cfg) {
        return cfg.local() ? NO_RETRY : null;
    }

    DestroyReport.Step deleteBucket(StackConfig cfg, String bucket) {
        S3Client s3 = clients.s3();
        long deleted = 0;
        for (int attempt = 1; ; attempt++) {
            String action = "s3:ListBucket";
            try {
                deleted += emptyBucket(cfg, bucket);
                action = "s3:DeleteBucket";
                s3.deleteBucket(r -> r.bucket(bucket));
                return new DestroyReport.Step(Resource.BUCKET, bucket, DestroyReport.Outcome.DELETED, StackProvisioner.plural(deleted, "object"));
            } catch (NoSuchBucketException e) {
                return new DestroyReport.Step(Resource.BUCKET, bucket,
                        deleted == 0 ? DestroyReport.Outcome.ALREADY_GONE : DestroyReport.Outcome.DELETED,
                        deleted == 0 ? "" : StackProvisioner.plural(deleted, "object"));
            } catch (S3Exception e) {
                if ("BucketNotEmpty".equals(StackProvisioner.errorCode(e))) {
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

    private RuntimeException translate(SdkException e, String action, String resource) {
        return AwsFailure.translate(e, action, resource, clients.region().id());
    }
}
