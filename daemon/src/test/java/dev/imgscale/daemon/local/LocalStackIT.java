package dev.imgscale.daemon.local;

import dev.imgscale.daemon.wire.Keys;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.aws.AwsClients;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.Delete;
import software.amazon.awssdk.services.s3.model.DeleteObjectsResponse;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResponse;

/**
 * The local stack answers the S3 and SQS calls imgscale makes, through the same SDK clients
 * {@link AwsClients} builds for AWS.
 */
class LocalStackIT {

    @TempDir static Path dataDir;

    static LocalStack stack;
    static AwsClients aws;
    static long startMillis;

    @BeforeAll
    static void startStack() {
        long t0 = System.nanoTime();
        stack = LocalStack.start(dataDir, 0, 0);
        startMillis = (System.nanoTime() - t0) / 1_000_000;
        aws = new AwsClients(stack.settings());
        System.out.printf("[measure] local stack start (cold JVM): %d ms%n", startMillis);
    }

    @AfterAll
    static void stopStack() {
        if (aws != null) {
            aws.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void binds_both_servers_to_loopback_on_free_ports() {
        assertEquals("127.0.0.1", stack.sqsEndpoint().getHost());
        assertEquals("127.0.0.1", stack.s3Endpoint().getHost());
        assertTrue(stack.sqsEndpoint().getPort() > 0, stack.sqsEndpoint().toString());
        assertTrue(stack.s3Endpoint().getPort() > 0, stack.s3Endpoint().toString());
    }

    @Test
    void s3_put_get_head_list_delete_with_awkward_keys() {
        S3Client s3 = aws.s3();
        String bucket = "imgscale-s3-roundtrip";
        s3.createBucket(b -> b.bucket(bucket));

        String job = "input/job 1/";
        Map<String, byte[]> objects = new HashMap<>();
        objects.put(job + "chat noir ünïcødé ☃.jpg", bytes(1000, 1));
        objects.put(job + "sub dir/b+c&d=e.jpg", bytes(0, 2));
        objects.put(job + "plain.jpg", bytes(70_000, 3));
        objects.put("input/job 10/not-in-prefix.jpg", bytes(10, 4));
        objects.put("results/job 1/r.json", "{\"v\":1}".getBytes(StandardCharsets.UTF_8));
        objects.forEach((key, body) ->
                s3.putObject(p -> p.bucket(bucket).key(key).contentType("image/jpeg"),
                        RequestBody.fromBytes(body)));

        objects.forEach((key, body) -> {
            ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(g -> g.bucket(bucket).key(key));
            assertArrayEquals(body, got.asByteArray(), "body of " + key);
            HeadObjectResponse head = s3.headObject(h -> h.bucket(bucket).key(key));
            assertEquals(body.length, head.contentLength(), "length of " + key);
            assertEquals("image/jpeg", head.contentType(), "content type of " + key);
        });

        List<String> raw = listKeys(s3, bucket, job);
        System.out.println("[observe] ListObjectsV2 prefix '" + job + "' -> " + raw);
        List<String> rawAll = listKeys(s3, bucket, null);
        System.out.println("[observe] ListObjectsV2 no prefix -> " + rawAll);
        List<String> keys = raw.stream().filter(k -> !Keys.isFolderMarker(k)).sorted()
                .collect(Collectors.toList());
        List<String> expected = objects.keySet().stream().filter(k -> k.startsWith(job)).sorted()
                .collect(Collectors.toList());
        assertEquals(expected, keys, "keys under the prefix, directory markers skipped; raw " + raw);

        List<ObjectIdentifier> toDelete = objects.keySet().stream()
                .map(k -> ObjectIdentifier.builder().key(k).build()).collect(Collectors.toList());
        DeleteObjectsResponse deleted = s3.deleteObjects(d -> d.bucket(bucket)
                .delete(Delete.builder().objects(toDelete).build()));
        assertTrue(deleted.errors().isEmpty(), "delete errors " + deleted.errors());
        assertEquals(objects.size(), deleted.deleted().size(), "deleted " + deleted.deleted());

        System.out.println("[observe] ListObjectsV2 after DeleteObjects -> "
                + listKeys(s3, bucket, null));
        List<String> left = listKeys(s3, bucket, null).stream()
                .filter(k -> !Keys.isFolderMarker(k)).collect(Collectors.toList());
        assertEquals(List.of(), left, "objects left after DeleteObjects");
        String gone = job + "plain.jpg";
        S3Exception e = assertThrows(S3Exception.class,
                () -> s3.headObject(h -> h.bucket(bucket).key(gone)));
        assertEquals(404, e.statusCode());
        assertThrows(NoSuchKeyException.class,
                () -> s3.getObjectAsBytes(g -> g.bucket(bucket).key(gone)));
    }

    @Test
    void sqs_batch_send_long_poll_visibility_and_delete() {
        SqsClient sqs = aws.sqs();
        String dlqUrl = sqs.createQueue(c -> c.queueName("roundtrip-dlq")).queueUrl();
        String dlqArn = queueArn(sqs, dlqUrl);
        String url = sqs.createQueue(c -> c.queueName("roundtrip").attributes(Map.of(
                QueueAttributeName.REDRIVE_POLICY, redrive(dlqArn, 3)))).queueUrl();

        List<SendMessageBatchRequestEntry> entries = IntStream.range(0, 10)
                .mapToObj(i -> SendMessageBatchRequestEntry.builder()
                        .id("m" + i).messageBody("{\"v\":1,\"image\":\"img-" + i + ".jpg\"}").build())
                .collect(Collectors.toList());
        SendMessageBatchResponse sent = sqs.sendMessageBatch(b -> b.queueUrl(url).entries(entries));
        assertEquals(10, sent.successful().size(), "failed: " + sent.failed());

        List<Message> received = new ArrayList<>();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (received.size() < 10 && System.nanoTime() < deadline) {
            received.addAll(sqs.receiveMessage(r -> r.queueUrl(url)
                    .waitTimeSeconds(1).maxNumberOfMessages(10)).messages());
        }
        assertEquals(10, received.size(), "messages received");
        assertEquals(Map.of("visible", 0, "inFlight", 10), counts(sqs, url));

        Message first = received.get(0);
        sqs.changeMessageVisibility(c -> c.queueUrl(url)
                .receiptHandle(first.receiptHandle()).visibilityTimeout(0));
        assertEquals(Map.of("visible", 1, "inFlight", 9), counts(sqs, url));
        // Extending visibility (what a busy worker does) keeps the message hidden.
        Message second = received.get(1);
        sqs.changeMessageVisibility(c -> c.queueUrl(url)
                .receiptHandle(second.receiptHandle()).visibilityTimeout(120));

        List<Message> again = sqs.receiveMessage(r -> r.queueUrl(url)
                .waitTimeSeconds(1).maxNumberOfMessages(10)).messages();
        assertEquals(1, again.size(), "only the message made visible again comes back");
        assertEquals(first.messageId(), again.get(0).messageId());

        for (Message m : received.subList(1, 10)) {
            sqs.deleteMessage(d -> d.queueUrl(url).receiptHandle(m.receiptHandle()));
        }
        sqs.deleteMessage(d -> d.queueUrl(url).receiptHandle(again.get(0).receiptHandle()));
        assertEquals(Map.of("visible", 0, "inFlight", 0), counts(sqs, url));
    }

    @Test
    void message_received_three_times_without_delete_moves_to_dead_letter_queue() {
        SqsClient sqs = aws.sqs();
        String dlqUrl = sqs.createQueue(c -> c.queueName("poison-dlq")).queueUrl();
        String url = sqs.createQueue(c -> c.queueName("poison").attributes(Map.of(
                QueueAttributeName.VISIBILITY_TIMEOUT, "1",
                QueueAttributeName.REDRIVE_POLICY, redrive(queueArn(sqs, dlqUrl), 3)))).queueUrl();
        sqs.sendMessage(s -> s.queueUrl(url).messageBody("poison"));

        int receives = 0;
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (receives < 3 && System.nanoTime() < deadline) {
            receives += sqs.receiveMessage(r -> r.queueUrl(url).waitTimeSeconds(1)
                    .maxNumberOfMessages(10)).messages().size();
        }
        assertEquals(3, receives, "receives before the limit");

        // The fourth receive finds the receive count at the limit and moves the message instead.
        List<Message> dead = new ArrayList<>();
        while (dead.isEmpty() && System.nanoTime() < deadline) {
            List<Message> m = sqs.receiveMessage(r -> r.queueUrl(url).waitTimeSeconds(1)).messages();
            assertEquals(List.of(), m.stream().map(Message::body).collect(Collectors.toList()),
                    "a message past maxReceiveCount is not delivered again");
            dead.addAll(sqs.receiveMessage(r -> r.queueUrl(dlqUrl).waitTimeSeconds(1)).messages());
        }
        assertEquals(1, dead.size(), "messages in the dead-letter queue");
        assertEquals("poison", dead.get(0).body());
        assertEquals(Map.of("visible", 0, "inFlight", 0), counts(sqs, url));
    }

    @Test
    void state_file_round_trips_and_tells_a_live_stack_from_a_stale_one(@TempDir Path dir)
            throws IOException, InterruptedException {
        Path file = dir.resolve("run/local-stack.json");
        assertTrue(LocalStack.readState(file).isEmpty(), "no file, no state");

        stack.writeState(file);
        LocalStackState state = LocalStack.readState(file).orElseThrow();
        assertEquals(stack.state(), state);
        assertEquals(ProcessHandle.current().pid(), state.pid());
        assertTrue(state.isProcessAlive(), "this process is alive");
        assertEquals(stack.settings(), state.settings());

        Process exited = new ProcessBuilder("true").start();
        exited.waitFor();
        Files.writeString(file, Files.readString(file)
                .replace("\"pid\" : " + state.pid(), "\"pid\" : " + exited.pid()));
        LocalStackState stale = LocalStack.readState(file).orElseThrow();
        assertEquals(exited.pid(), stale.pid());
        assertFalse(stale.isProcessAlive(), "a dead pid makes the state stale");

        LocalStackState reused = new LocalStackState(ProcessHandle.current().pid(),
                state.sqsEndpoint(), state.s3Endpoint(), state.dataDir(), Instant.EPOCH);
        assertFalse(reused.isProcessAlive(), "a pid whose process started after the stack is reused");

        Files.writeString(file, "{\"hello\":1}");
        IllegalStateException e =
                assertThrows(IllegalStateException.class, () -> LocalStack.readState(file));
        assertTrue(e.getMessage().contains("delete it"), e.getMessage());
    }

    @Test
    void restart_keeps_objects_but_not_queues(@TempDir Path dir) {
        String key = "input/j/keep me.jpg";
        try (LocalStack first = LocalStack.start(dir, 0, 0);
                AwsClients c = new AwsClients(first.settings())) {
            c.s3().createBucket(b -> b.bucket("kept"));
            c.s3().putObject(p -> p.bucket("kept").key(key), RequestBody.fromString("x"));
            c.sqs().createQueue(q -> q.queueName("lost"));
        }
        long t0 = System.nanoTime();
        try (LocalStack second = LocalStack.start(dir, 0, 0);
                AwsClients c = new AwsClients(second.settings())) {
            System.out.printf("[measure] local stack start (warm JVM): %d ms%n",
                    (System.nanoTime() - t0) / 1_000_000);
            assertEquals("x", c.s3().getObjectAsBytes(g -> g.bucket("kept").key(key)).asUtf8String());
            assertEquals(List.of(), c.sqs().listQueues().queueUrls(), "queues after restart");
        }
    }

    @Test
    void port_in_use_fails_in_one_sentence_and_leaves_no_threads_behind(@TempDir Path dir)
            throws IOException, InterruptedException {
        long before = liveNonDaemonThreads();
        try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = busy.getLocalPort();
            IllegalStateException sqsBusy = assertThrows(IllegalStateException.class,
                    () -> LocalStack.start(dir, port, 0).close());
            assertTrue(sqsBusy.getMessage().startsWith("Cannot start the local SQS")
                    && sqsBusy.getMessage().contains(":" + port), sqsBusy.getMessage());
            IllegalStateException s3Busy = assertThrows(IllegalStateException.class,
                    () -> LocalStack.start(dir, 0, port).close());
            assertTrue(s3Busy.getMessage().startsWith("Cannot start the local S3")
                    && s3Busy.getMessage().contains(":" + port), s3Busy.getMessage());
        }
        long deadline = System.nanoTime() + 3_000_000_000L;
        while (liveNonDaemonThreads() > before && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(before, liveNonDaemonThreads(), "non-daemon threads left running");
    }

    @Test
    void measure_latencies() {
        S3Client s3 = aws.s3();
        s3.createBucket(b -> b.bucket("latency"));
        byte[] body = bytes(100 * 1024, 7);
        int n = 30;
        for (int i = 0; i < 10; i++) { // warm-up
            String k = "warm/" + i;
            s3.putObject(p -> p.bucket("latency").key(k), RequestBody.fromBytes(body));
            s3.getObjectAsBytes(g -> g.bucket("latency").key(k));
        }
        long[] put = new long[n];
        long[] get = new long[n];
        for (int i = 0; i < n; i++) {
            String k = "input/job/img-" + i + ".jpg";
            long t0 = System.nanoTime();
            s3.putObject(p -> p.bucket("latency").key(k), RequestBody.fromBytes(body));
            long t1 = System.nanoTime();
            byte[] got = s3.getObjectAsBytes(g -> g.bucket("latency").key(k)).asByteArray();
            long t2 = System.nanoTime();
            assertEquals(body.length, got.length);
            put[i] = t1 - t0;
            get[i] = t2 - t1;
        }
        SqsClient sqs = aws.sqs();
        String url = sqs.createQueue(c -> c.queueName("latency")).queueUrl();
        for (int i = 0; i < 20; i++) {
            sqs.sendMessage(s -> s.queueUrl(url).messageBody("warm"));
        }
        int m = 100;
        long[] send = new long[m];
        for (int i = 0; i < m; i++) {
            long t0 = System.nanoTime();
            sqs.sendMessage(s -> s.queueUrl(url).messageBody("{\"v\":1,\"image\":\"x.jpg\"}"));
            send[i] = System.nanoTime() - t0;
        }
        System.out.printf("[measure] S3 PUT 100 KB: %s%n", summary(put));
        System.out.printf("[measure] S3 GET 100 KB: %s%n", summary(get));
        System.out.printf("[measure] SQS SendMessage: %s%n", summary(send));
    }

    private static long liveNonDaemonThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && !t.isDaemon()).count();
    }

    private static String summary(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        double mean = Arrays.stream(s).average().orElse(0) / 1e6;
        return String.format("n=%d median %.2f ms, mean %.2f ms, p90 %.2f ms", s.length,
                s[s.length / 2] / 1e6, mean, s[(int) (s.length * 0.9)] / 1e6);
    }

    @Test
    void s3_pages_a_listing_of_many_objects_in_order_with_their_metadata() {
        S3Client s3 = aws.s3();
        String bucket = "imgscale-s3-pages";
        s3.createBucket(b -> b.bucket(bucket));
        int n = 1_200;
        List<String> keys = IntStream.range(0, n).mapToObj(i -> String.format("results/job/w%d-%05d.jsonl", i % 3, i)).sorted().toList();
        keys.parallelStream().forEach(k -> s3.putObject(p -> p.bucket(bucket).key(k), RequestBody.fromBytes(bytes(k.length(), k.hashCode()))));
        s3.putObject(p -> p.bucket(bucket).key("results/jobs-other/x.jsonl"), RequestBody.fromString("x"));
        s3.putObject(p -> p.bucket(bucket).key("results/job-other.jsonl"), RequestBody.fromString("not under the prefix"));

        long t0 = System.nanoTime();
        List<S3Object> pages = new ArrayList<>();
        int[] requests = {0};
        s3.listObjectsV2Paginator(l -> l.bucket(bucket).prefix("results/job/").maxKeys(100)).forEach(page -> {
            requests[0]++;
            assertTrue(page.contents().size() <= 100, "at most max-keys: " + page.contents().size());
            pages.addAll(page.contents());
        });
        long pagedMillis = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(keys, pages.stream().map(S3Object::key).toList(), "every key once, in order, across the pages");
        assertEquals(12, requests[0], "1,200 keys in pages of 100");
        for (S3Object o : List.of(pages.get(0), pages.get(599), pages.get(n - 1))) {
            HeadObjectResponse head = s3.headObject(h -> h.bucket(bucket).key(o.key()));
            assertEquals(head.contentLength(), o.size(), "size of " + o.key());
            assertEquals(head.eTag(), o.eTag(), "ETag of " + o.key());
            assertEquals(head.lastModified(), o.lastModified(), "last modified of " + o.key());
        }
        var after = s3.listObjectsV2(l -> l.bucket(bucket).prefix("results/job/").startAfter(keys.get(1_194)));
        assertEquals(keys.subList(1_195, n), after.contents().stream().map(S3Object::key).toList(), "the keys after a marker");
        assertFalse(after.isTruncated());
        assertEquals(0, s3.listObjectsV2(l -> l.bucket(bucket).prefix("results/job/").maxKeys(0)).contents().size());
        // the page's objects only are loaded: jclouds alone loaded all 1,200 for each of the 12 pages
        System.out.printf("[measure] ListObjectsV2 of 1,200 keys in 12 pages of 100: %d ms%n", pagedMillis);
    }

    private static List<String> listKeys(S3Client s3, String bucket, String prefix) {
        return s3.listObjectsV2Paginator(l -> l.bucket(bucket).prefix(prefix)).contents().stream()
                .map(S3Object::key).collect(Collectors.toList());
    }

    private static String queueArn(SqsClient sqs, String url) {
        return sqs.getQueueAttributes(g -> g.queueUrl(url)
                .attributeNames(QueueAttributeName.QUEUE_ARN)).attributes()
                .get(QueueAttributeName.QUEUE_ARN);
    }

    private static String redrive(String dlqArn, int maxReceiveCount) {
        return "{\"maxReceiveCount\":\"" + maxReceiveCount + "\",\"deadLetterTargetArn\":\""
                + dlqArn + "\"}";
    }

    private static Map<String, Integer> counts(SqsClient sqs, String url) {
        Map<QueueAttributeName, String> a = sqs.getQueueAttributes(g -> g.queueUrl(url)
                .attributeNames(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                        QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)).attributes();
        return Map.of(
                "visible", Integer.parseInt(a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES)),
                "inFlight", Integer.parseInt(
                        a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)));
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
