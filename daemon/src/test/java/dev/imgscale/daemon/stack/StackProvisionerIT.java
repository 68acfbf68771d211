package dev.imgscale.daemon.stack;

import dev.imgscale.daemon.local.FileParameterStore;
import dev.imgscale.daemon.wire.StackNames;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.local.LocalStack;
import dev.imgscale.daemon.stack.InitReport.Outcome;
import dev.imgscale.daemon.stack.InitReport.Resource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.CreateBucketRequest;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.QueueDoesNotExistException;

/**
 * {@link StackProvisioner} against a real local stack (S3Proxy + ElasticMQ) started by the test:
 * what init creates, that running it again changes nothing, that it converges changed settings, and
 * that destroy removes everything. Each test works on a stack of its own.
 */
class StackProvisionerIT {

    @TempDir
    static Path dataDir;

    static LocalStack local;
    static AwsClients clients;

    @TempDir
    Path paramsDir;

    FileParameterStore params;
    StackProvisioner provisioner;
    String stack;

    @BeforeAll
    static void startLocalStack() {
        local = LocalStack.start(dataDir, 0, 0);
        clients = new AwsClients(local.settings());
    }

    @AfterAll
    static void stopLocalStack() {
        if (clients != null) {
            clients.close();
        }
        if (local != null) {
            local.close();
        }
    }

    @BeforeEach
    void newStack(TestInfo test) {
        params = new FileParameterStore(paramsDir);
        provisioner = new StackProvisioner(clients, params);
        stack = "t" + Math.abs(test.getDisplayName().hashCode() % 1_000_000);
    }

    private StackConfig config(Map<String, String> values) {
        Map<String, String> all = new HashMap<>(values);
        all.put("stack", stack);
        return ConfigLoader.build(all, local.settings(), true, null);
    }

    private StackConfig config() {
        return config(Map.of());
    }

    @Test
    void should_create_buckets_queues_with_redrive_and_parameters() {
        StackConfig cfg = config(Map.of("max-receives", "4", "visibility-timeout", "45"));
        StackNames n = cfg.names();

        InitReport report = provisioner.init(cfg, null);

        String lines = String.join("\n", report.lines());
        for (String bucket : List.of(n.inputBucket(), n.outputBucket())) {
            assertEquals(Outcome.CREATED, outcome(report, Resource.BUCKET, bucket), lines);
            // S3Proxy has neither: the local stack reports it instead of failing.
            assertEquals(Outcome.NOT_SUPPORTED, outcome(report, Resource.BUCKET_PUBLIC_ACCESS_BLOCK, bucket), lines);
            assertEquals(Outcome.NOT_SUPPORTED, outcome(report, Resource.BUCKET_ENCRYPTION, bucket), lines);
            clients.s3().headBucket(r -> r.bucket(bucket));
        }
        for (String queue : List.of(n.deadLetterQueue(), n.requestQueue(), n.resultQueue())) {
            assertEquals(Outcome.CREATED, outcome(report, Resource.QUEUE, queue), lines);
            assertEquals(Outcome.NOT_SUPPORTED, outcome(report, Resource.QUEUE_ENCRYPTION, queue), lines);
        }
        assertTrue(report.step(Resource.QUEUE, n.deadLetterQueue()).orElseThrow().detail()
                .contains("MessageRetentionPeriod not supported here"), lines);
        assertEquals(Outcome.CREATED, outcome(report, Resource.PARAMETERS, params.location(stack)), lines);

        Map<String, String> request = attributes(n.requestQueue());
        JsonNode redrive = json(request.get("RedrivePolicy"));
        assertEquals(attributes(n.deadLetterQueue()).get("QueueArn"), redrive.path("deadLetterTargetArn").asText(), request.toString());
        assertEquals(4, redrive.path("maxReceiveCount").asInt(), request.toString());
        assertEquals("45", request.get("VisibilityTimeout"), request.toString());
        assertEquals("20", request.get("ReceiveMessageWaitTimeSeconds"), request.toString());
        assertNull(attributes(n.resultQueue()).get("RedrivePolicy"));

        assertEquals(StackProvisioner.stackParameters(cfg, null), params.read(stack));
        assertEquals("4", params.read(stack).get("max-receives"));
        assertEquals("mobilenet-v2-int8", params.read(stack).get("model"));
        assertFalse(params.read(stack).containsKey("stack"));
    }

    @Test
    void should_change_nothing_when_run_twice() throws Exception {
        StackConfig cfg = config();
        StackNames n = cfg.names();
        provisioner.init(cfg, null);
        Map<String, Map<String, String>> before = allQueueAttributes(n);
        byte[] paramsBefore = Files.readAllBytes(params.file(stack));
        long modifiedBefore = Files.getLastModifiedTime(params.file(stack)).toMillis();

        InitReport again = provisioner.init(cfg, null);

        String lines = String.join("\n", again.lines());
        assertFalse(again.changedAnything(), lines);
        for (InitReport.Step step : again.steps()) {
            Set<Outcome> expected = step.resource() == Resource.BUCKET || step.resource() == Resource.QUEUE
                    || step.resource() == Resource.PARAMETERS
                    ? Set.of(Outcome.ALREADY_THERE)
                    : Set.of(Outcome.NOT_SUPPORTED);
            assertTrue(expected.contains(step.outcome()), step.line());
        }
        assertEquals(before, allQueueAttributes(n), "queue attributes, LastModifiedTimestamp included");
        assertEquals(new String(paramsBefore), new String(Files.readAllBytes(params.file(stack))));
        assertEquals(modifiedBefore, Files.getLastModifiedTime(params.file(stack)).toMillis(), "the file was not rewritten");
    }

    @Test
    void should_converge_a_stack_whose_settings_changed() {
        provisioner.init(config(Map.of("max-receives", "5", "visibility-timeout", "60")), null);
        StackConfig changed = config(Map.of("max-receives", "7", "visibility-timeout", "90"));
        StackNames n = changed.names();

        InitReport report = provisioner.init(changed, null);

        String lines = String.join("\n", report.lines());
        InitReport.Step request = report.step(Resource.QUEUE, n.requestQueue()).orElseThrow();
        assertEquals(Outcome.UPDATED, request.outcome(), lines);
        assertTrue(request.detail().contains("maxReceiveCount 5 -> 7"), lines);
        assertTrue(request.detail().contains("VisibilityTimeout 60 -> 90"), lines);
        assertEquals(Outcome.ALREADY_THERE, outcome(report, Resource.QUEUE, n.deadLetterQueue()), lines);
        assertEquals(Outcome.ALREADY_THERE, outcome(report, Resource.QUEUE, n.resultQueue()), lines);
        InitReport.Step parameters = report.step(Resource.PARAMETERS, params.location(stack)).orElseThrow();
        assertEquals(Outcome.UPDATED, parameters.outcome(), lines);
        assertTrue(parameters.detail().contains("max-receives 5 -> 7"), lines);

        Map<String, String> attrs = attributes(n.requestQueue());
        assertEquals(7, json(attrs.get("RedrivePolicy")).path("maxReceiveCount").asInt(), attrs.toString());
        assertEquals("90", attrs.get("VisibilityTimeout"), attrs.toString());
        assertEquals("7", params.read(stack).get("max-receives"));
        assertFalse(provisioner.init(changed, null).changedAnything(), "converged: a third run changes nothing");
    }

    @Test
    void should_converge_a_request_queue_someone_else_created() {
        StackConfig cfg = config();
        StackNames n = cfg.names();
        clients.sqs().createQueue(r -> r.queueName(n.requestQueue())
                .attributes(Map.of(QueueAttributeName.VISIBILITY_TIMEOUT, "30")));

        InitReport report = provisioner.init(cfg, null);

        InitReport.Step step = report.step(Resource.QUEUE, n.requestQueue()).orElseThrow();
        assertEquals(Outcome.UPDATED, step.outcome(), step.line());
        assertTrue(step.detail().contains("RedrivePolicy unset -> "), step.line());
        assertEquals(5, json(attributes(n.requestQueue()).get("RedrivePolicy")).path("maxReceiveCount").asInt());
    }

    @Test
    void should_destroy_everything_and_be_harmless_twice() {
        StackConfig cfg = config();
        StackNames n = cfg.names();
        provisioner.init(cfg, null);
        for (String key : List.of("input/job-1/a.jpg", "input/job-1/b.jpg", "input/job-2/sub/c.jpg", "d.jpg", "e f.jpg")) {
            clients.s3().putObject(r -> r.bucket(n.inputBucket()).key(key), RequestBody.fromString(key));
        }
        clients.s3().putObject(r -> r.bucket(n.outputBucket()).key("results/job-1/a.json"), RequestBody.fromString("{}"));
        clients.sqs().sendMessage(r -> r.queueUrl(queueUrl(n.requestQueue())).messageBody("{}"));
        // Pages of two keys, so destroy has to page through the bucket.
        StackProvisioner smallPages = new StackProvisioner(clients, params, 2);

        DestroyReport report = smallPages.destroy(cfg);

        String lines = String.join("\n", report.lines());
        assertEquals("bucket " + n.inputBucket() + ": deleted (5 objects)",
                report.step(Resource.BUCKET, n.inputBucket()).orElseThrow().line(), lines);
        assertEquals("1 object", report.step(Resource.BUCKET, n.outputBucket()).orElseThrow().detail(), lines);
        for (String queue : List.of(n.requestQueue(), n.deadLetterQueue(), n.resultQueue())) {
            assertEquals(DestroyReport.Outcome.DELETED, report.step(Resource.QUEUE, queue).orElseThrow().outcome(), lines);
            assertThrows(QueueDoesNotExistException.class, () -> clients.sqs().getQueueUrl(r -> r.queueName(queue)));
        }
        for (String bucket : List.of(n.inputBucket(), n.outputBucket())) {
            assertThrows(NoSuchBucketException.class, () -> clients.s3().headBucket(r -> r.bucket(bucket)));
        }
        assertEquals(DestroyReport.Outcome.DELETED,
                report.step(Resource.PARAMETERS, params.location(stack)).orElseThrow().outcome(), lines);
        assertEquals(Map.of(), params.read(stack));

        DestroyReport again = provisioner.destroy(cfg);

        assertFalse(again.deletedAnything(), String.join("\n", again.lines()));
        assertEquals(6, again.steps().size(), String.join("\n", again.lines()));
        assertTrue(again.steps().stream().allMatch(s -> s.outcome() == DestroyReport.Outcome.ALREADY_GONE),
                String.join("\n", again.lines()));
    }

    @Test
    void should_fail_on_a_non_local_endpoint_that_cannot_make_buckets_private() {
        // The same S3Proxy, but not declared local: what is "not supported here" locally must fail.
        StackConfig notLocal = ConfigLoader.build(Map.of("stack", stack, "model", "resnet50"), local.settings(), false, null);

        ImgscaleException e = assertThrows(ImgscaleException.class, () -> provisioner.init(notLocal, null));

        assertTrue(e.getMessage().contains("s3:PutBucketPublicAccessBlock") && e.getMessage().contains("use AWS S3"),
                e.getMessage());
    }

    @Test
    void should_store_extra_parameters_and_refuse_unknown_ones() {
        StackConfig cfg = config();

        Map<String, String> withRegion = StackProvisioner.stackParameters(cfg, Map.of("REGION", "eu-west-1"));

        assertEquals("eu-west-1", withRegion.get("region"));
        assertEquals(cfg.names().inputBucket(), withRegion.get("input-bucket"));
        for (Map<String, String> bad : List.of(Map.of("colour", "blue"), Map.of("profile", "work"), Map.of("stack", "x"),
                Map.of("region", " "))) {
            assertThrows(ImgscaleException.class, () -> provisioner.init(cfg, bad), bad.toString());
        }
        assertThrows(QueueDoesNotExistException.class,
                () -> clients.sqs().getQueueUrl(r -> r.queueName(cfg.names().requestQueue())),
                "bad parameters are refused before anything is created");
    }

    @Test
    void should_refuse_invalid_names_before_creating_anything() {
        StackConfig tooLong = config(Map.of("input-bucket", "x".repeat(64)));
        ImgscaleException e = assertThrows(ImgscaleException.class, () -> provisioner.init(tooLong, null));
        assertTrue(e.getMessage().contains("is not valid") && e.getMessage().contains("shorter stack name"), e.getMessage());

        StackConfig sameQueue = config(Map.of("result-queue", stack + "-requests"));
        e = assertThrows(ImgscaleException.class, () -> provisioner.init(sameQueue, null));
        assertTrue(e.getMessage().contains("three different queues"), e.getMessage());
        assertThrows(NoSuchBucketException.class, () -> clients.s3().headBucket(r -> r.bucket(sameQueue.names().inputBucket())));
    }

    @Test
    void should_give_a_location_constraint_outside_us_east_1_only() {
        CreateBucketRequest euWest = StackBuckets.createBucketRequest("b-1", "eu-west-1", false);
        assertEquals("eu-west-1", euWest.createBucketConfiguration().locationConstraintAsString());
        assertNull(StackBuckets.createBucketRequest("b-1", "us-east-1", false).createBucketConfiguration());
        assertNull(StackBuckets.createBucketRequest("b-1", "eu-west-1", true).createBucketConfiguration(),
                "S3Proxy rejects every LocationConstraint");
    }

    // ---- helpers -------------------------------------------------------------------------------

    private static Outcome outcome(InitReport report, Resource resource, String name) {
        return report.step(resource, name).map(InitReport.Step::outcome).orElse(null);
    }

    private static String queueUrl(String name) {
        return clients.sqs().getQueueUrl(r -> r.queueName(name)).queueUrl();
    }

    private static Map<String, String> attributes(String queue) {
        return clients.sqs().getQueueAttributes(r -> r.queueUrl(queueUrl(queue)).attributeNames(QueueAttributeName.ALL))
                .attributesAsStrings();
    }

    private static Map<String, Map<String, String>> allQueueAttributes(StackNames n) {
        return Map.of(n.requestQueue(), attributes(n.requestQueue()), n.deadLetterQueue(), attributes(n.deadLetterQueue()),
                n.resultQueue(), attributes(n.resultQueue()));
    }

    private static JsonNode json(String text) {
        try {
            return new ObjectMapper().readTree(text);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }
}
