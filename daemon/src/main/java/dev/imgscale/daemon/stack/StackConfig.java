package dev.imgscale.daemon.stack;

import dev.imgscale.daemon.wire.StackNames;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.aws.AwsSettings;
import java.time.Duration;
import java.util.Map;

/**
 * Everything a command or daemon needs to reach one stack: its resource names, the model its
 * workers run, how to reach AWS (or the local stack), and the queue settings.
 *
 * @param local             whether this is the embedded local stack (S3Proxy + ElasticMQ on loopback)
 * @param visibilityTimeout how long a received request stays invisible before it is extended or redelivered
 * @param maxReceives       receives after which a request goes to the dead-letter queue
 * @param values            the merged configuration values this was built from (for `status`)
 */
public record StackConfig(StackNames names, String model, AwsSettings aws, boolean local,
                          Duration visibilityTimeout, int maxReceives, Map<String, String> values) {
    public static final String DEFAULT_STACK = StackNames.DEFAULT_STACK;
    /**
     * ResNet-50 in int8 on ONNX Runtime: about 3 times the fp32 network's images per second on VNNI
     * cores for 0.2 points of published ImageNet top-1 (74.77 % against 74.97 %); see docs/models.md.
     * {@code --model resnet50} keeps fp32.
     */
    public static final String DEFAULT_AWS_MODEL = "resnet50-int8";
    public static final String DEFAULT_LOCAL_MODEL = "mobilenet-v2-int8";
    public static final Duration DEFAULT_VISIBILITY = Duration.ofSeconds(60);
    public static final int DEFAULT_MAX_RECEIVES = 5;

    /** The configuration key of the buckets (comma-separated) whose objects the workers may read in place. */
    public static final String SOURCE_BUCKETS = "source-buckets";

    public StackConfig {
        values = Map.copyOf(values);
        if (maxReceives < 2) {
            throw new ImgscaleException("max-receives must be at least 2, so a request survives one worker failure.");
        }
    }

    /** The buckets the workers may read images from in place ({@value #SOURCE_BUCKETS}), as their IAM policy grants. */
    public java.util.List<String> sourceBuckets() {
        String v = values.getOrDefault(SOURCE_BUCKETS, "");
        return java.util.Arrays.stream(v.split(",")).map(String::strip).filter(b -> !b.isEmpty()).toList();
    }

    /** Whether the workers may read the bucket: on the local stack any bucket of its S3 is a source. */
    public boolean mayRead(String bucket) {
        return local || sourceBuckets().contains(bucket);
    }
}
