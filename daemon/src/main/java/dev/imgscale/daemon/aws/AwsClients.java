package dev.imgscale.daemon.aws;

import dev.imgscale.daemon.aws.AwsSettings.Service;
import dev.imgscale.daemon.cost.RequestLedger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.client.builder.AwsClientBuilder;
import software.amazon.awssdk.awscore.client.builder.AwsSyncClientBuilder;
import software.amazon.awssdk.core.SdkClient;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.ssm.SsmClient;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.utils.SdkAutoCloseable;

/**
 * The one place where AWS SDK clients are made. Each client is built from {@link AwsSettings} on
 * first use and then shared (SDK clients are thread-safe); all of them use one HTTP connection
 * pool. Closing the factory closes the clients, the pool and the credentials provider, so pass
 * the factory (or the clients) to whoever needs them and close it once, at the end of
 * {@code main}.
 *
 * <p>For an S3 endpoint override (the local stack's S3Proxy, or another S3 look-alike) the S3
 * client addresses buckets path-style and computes or validates checksums only when an
 * operation requires them: the SDK's default since 2.30 (a CRC32 trailer on every upload)
 * makes S3Proxy reject each PUT with 400 "x-amz-content-sha256 ... does not match".
 *
 * <p>Every client counts the requests it sends in {@link #requests()} (and so in the process's
 * {@link RequestLedger#process()}), by service and operation: what AWS bills is measured, not
 * guessed.
 */
public final class AwsClients implements AutoCloseable {

    private final AwsSettings settings;
    private final Region region;
    private final SdkHttpClient httpClient;
    private final AwsCredentialsProvider credentials;
    private final List<SdkClient> built = new ArrayList<>();
    private final RequestLedger requests;
    private boolean closed;

    private S3Client s3;
    private SqsClient sqs;
    private Ec2Client ec2;
    private SsmClient ssm;
    private StsClient sts;

    /**
     * Resolves the region and credentials provider now (so a missing region fails here, in one
     * sentence) and opens the shared connection pool.
     *
     * @throws dev.imgscale.classifier.ImgscaleException when no region is configured anywhere
     */
    public AwsClients(AwsSettings settings) {
        this(settings, RequestLedger.child());
    }

    /** As {@link #AwsClients(AwsSettings)}, counting requests in {@code requests}. */
    public AwsClients(AwsSettings settings, RequestLedger requests) {
        this.requests = Objects.requireNonNull(requests, "requests");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.region = resolveRegion(settings);
        this.credentials = credentialsProvider(settings);
        this.httpClient = ApacheHttpClient.builder()
                .maxConnections(64)
                .connectionTimeout(Duration.ofSeconds(5))
                // A long poll holds the socket silent for up to 20 s; the attempt timeout bounds it.
                .socketTimeout(settings.apiCallAttemptTimeout())
                // TLS set up on the first HTTPS connection, not here: the local stack is plain HTTP
                .socketFactory(new LazyTlsSocketFactory())
                .build();
    }

    public AwsSettings settings() {
        return settings;
    }

    public Region region() {
        return region;
    }

    /** The requests the clients of this factory have sent. */
    public RequestLedger requests() {
        return requests;
    }

    /** The S3 client (path-style and checksums-when-required against an endpoint override). */
    public synchronized S3Client s3() {
        if (s3 == null) {
            boolean overridden = settings.endpoint(Service.S3).isPresent();
            s3 = register(configure(S3Client.builder(), Service.S3)
                    .forcePathStyle(settings.s3PathStyle() || settings.isLoopback(Service.S3))
                    .requestChecksumCalculation(overridden
                            ? RequestChecksumCalculation.WHEN_REQUIRED
                            : RequestChecksumCalculation.WHEN_SUPPORTED)
                    .responseChecksumValidation(overridden
                            ? ResponseChecksumValidation.WHEN_REQUIRED
                            : ResponseChecksumValidation.WHEN_SUPPORTED)
                    ::build);
        }
        return s3;
    }

    public synchronized SqsClient sqs() {
        if (sqs == null) {
            sqs = register(configure(SqsClient.builder(), Service.SQS)::build);
        }
        return sqs;
    }

    public synchronized Ec2Client ec2() {
        if (ec2 == null) {
            ec2 = register(configure(Ec2Client.builder(), Service.EC2)::build);
        }
        return ec2;
    }

    public synchronized SsmClient ssm() {
        if (ssm == null) {
            ssm = register(configure(SsmClient.builder(), Service.SSM)::build);
        }
        return ssm;
    }

    public synchronized StsClient sts() {
        if (sts == null) {
            sts = register(configure(StsClient.builder(), Service.STS)::build);
        }
        return sts;
    }

    /** Closes every client built so far, then the connection pool and the credentials provider. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException failure = null;
        for (SdkClient client : built) {
            failure = closeQuietly(client, failure);
        }
        built.clear();
        failure = closeQuietly(httpClient, failure);
        if (credentials instanceof SdkAutoCloseable closeable) {
            failure = closeQuietly(closeable, failure);
        }
        if (failure != null) {
            throw failure;
        }
    }

    private <B extends AwsClientBuilder<B, C> & AwsSyncClientBuilder<B, C>, C> B configure(
            B builder, Service service) {
        if (closed) {
            throw new IllegalStateException("AwsClients is closed");
        }
        builder.region(region)
                .credentialsProvider(credentials)
                .httpClient(httpClient)
                .overrideConfiguration(ClientOverrideConfiguration.builder()
                        .apiCallTimeout(settings.apiCallTimeout())
                        .apiCallAttemptTimeout(settings.apiCallAttemptTimeout())
                        .retryStrategy(settings.retryMode())
                        .addExecutionInterceptor(new CountingInterceptor(requests))
                        .build());
        settings.endpoint(service).ifPresent(builder::endpointOverride);
        return builder;
    }

    private <C extends SdkClient> C register(Supplier<C> build) {
        C client = build.get();
        built.add(client);
        return client;
    }

    private static Region resolveRegion(AwsSettings settings) {
        if (settings.region() != null) {
            return Region.of(settings.region());
        }
        try {
            return DefaultAwsRegionProviderChain.builder()
                    .profileName(settings.profile())
                    .build()
                    .getRegion();
        } catch (SdkClientException e) {
            throw new dev.imgscale.classifier.ImgscaleException("No AWS region is configured: set AWS_REGION (for example"
                    + " AWS_REGION=us-east-1), pass --region, set a region in your AWS profile, or use --local.", e);
        }
    }

    private static AwsCredentialsProvider credentialsProvider(AwsSettings settings) {
        AwsSettings.StaticCredentials c = settings.credentials();
        if (c != null) {
            return StaticCredentialsProvider.create(c.sessionToken() == null
                    ? AwsBasicCredentials.create(c.accessKeyId(), c.secretAccessKey())
                    : AwsSessionCredentials.create(c.accessKeyId(), c.secretAccessKey(), c.sessionToken()));
        }
        // A fresh chain (not the shared DefaultCredentialsProvider.create() singleton) so that
        // closing this factory may close it.
        return DefaultCredentialsProvider.builder().profileName(settings.profile()).build();
    }

    private static RuntimeException closeQuietly(AutoCloseable c, RuntimeException failure) {
        try {
            c.close();
        } catch (Exception e) {
            RuntimeException r = e instanceof RuntimeException re ? re : new IllegalStateException(e);
            if (failure == null) {
                return r;
            }
            failure.addSuppressed(r);
        }
        return failure;
    }

    @Override
    public String toString() {
        return "AwsClients[region=" + region + ", endpoints=" + settings.endpoints() + "]";
    }

}
