package dev.imgscale.daemon.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.TestAssets;
import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.aws.S3ObjectStore;
import dev.imgscale.daemon.cost.RequestCostReport;
import dev.imgscale.daemon.cost.RequestCounts;
import dev.imgscale.daemon.cost.RequestLedger;
import dev.imgscale.daemon.cost.RequestPrices;
import dev.imgscale.daemon.local.LocalStack;
import dev.imgscale.daemon.wire.ImageLocation;
import dev.imgscale.daemon.wire.WorkRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;

/**
 * What the data plane's requests come to when its pieces are put together as the staged worker
 * will use them, counted at the HTTP level on the local stack: upload in shards with one request
 * message per image, a worker loop that receives ten, reads them with one ranged GET and writes
 * one results object per batch, and a reader that lists and reads the batches. Prints the
 * figures (docs/data-plane.md quotes them); asserts the request counts the design implies.
 */
class ShardRequestsIT {
    /** The 14 development images this many times (docs/data-plane.md quotes a run with -Dimgscale.copies=20: 280 images). */
    static final int COPIES = Integer.getInteger("imgscale.copies", 5);
    static final int BATCH = 10;

    @TempDir
    Path dataDir;

    @Test
    void should_send_a_few_requests_per_hundred_images_and_print_them() throws Exception {
        List<Path> images = new ArrayList<>();
        try (var files = Files.list(TestAssets.images())) {
            files.filter(f -> f.toString().endsWith(".jpg") || f.toString().endsWith(".bmp")).sorted().forEach(images::add);
        }
        assertEquals(14, images.size());
        RequestLedger ledger = RequestLedger.standalone();
        try (LocalStack stack = LocalStack.start(dataDir.resolve("stack"), 0, 0); AwsClients aws = new AwsClients(stack.settings(), ledger)) {
            aws.s3().createBucket(b -> b.bucket("input"));
            aws.s3().createBucket(b -> b.bucket("output"));
            String queue = aws.sqs().createQueue(b -> b.queueName("requests")).queueUrl();
            S3ObjectStore input = new S3ObjectStore(aws.s3(), "input");
            S3ObjectStore output = new S3ObjectStore(aws.s3(), "output");
            RequestCounts setup = ledger.snapshot();

            // upload: shards, then one message per image once its shard is stored, ten to a batch
            Map<String, Path> sourceOf = new HashMap<>();
            List<Shard> shards = new ArrayList<>();
            try (ShardWriter writer = new ShardWriter(input, "shards/job/", ShardWriter.DEFAULT_MAX_MEMBERS, ShardWriter.DEFAULT_MAX_BYTES, 0,
                    shard -> {
                        shards.add(shard);
                        List<SendMessageBatchRequestEntry> batch = new ArrayList<>();
                        for (ShardMember m : shard.members()) {
                            batch.add(SendMessageBatchRequestEntry.builder().id("m" + batch.size()).messageBody(new WorkRequest("job", m.name(), 0,
                                    sourceOf.get(m.name()).toString(), new ImageLocation.InShard(m.shardKey(), m.offset(), m.length())).toJson()).build());
                            if (batch.size() == BATCH) {
                                send(aws, queue, batch);
                            }
                        }
                        send(aws, queue, batch);
                    })) {
                for (int c = 0; c < COPIES; c++) {
                    for (Path image : images) {
                        String name = "copy" + c + "/" + image.getFileName();
                        sourceOf.put(name, image);
                        writer.add(name, image);
                    }
                }
            }
            RequestCounts upload = ledger.snapshot().minus(setup);

            // worker: receive ten, one ranged GET for neighbours, one results object per batch, then delete
            ShardReader reader = new ShardReader(input, 1024 * 1024, 64L * 1024 * 1024, 25L * 1024 * 1024);
            int processed = 0;
            int batches = 0;
            while (processed < COPIES * images.size()) {
                List<Message> messages = aws.sqs().receiveMessage(b -> b.queueUrl(queue).maxNumberOfMessages(BATCH).waitTimeSeconds(1)).messages();
                if (messages.isEmpty()) {
                    continue;
                }
                List<ShardMember> members = new ArrayList<>();
                for (Message m : messages) {
                    WorkRequest r = WorkRequest.parse(m.body());
                    ImageLocation.InShard at = (ImageLocation.InShard) r.location();
                    members.add(new ShardMember(at.shardKey(), r.name(), at.offset(), at.length()));
                }
                StringBuilder rows = new StringBuilder();
                for (ShardReader.Fetched f : reader.read(members)) {
                    assertTrue(f.ok(), String.valueOf(f.error()));
                    assertArrayEquals(Files.readAllBytes(sourceOf.get(f.member().name())), f.bytes(), f.member().name());
                    rows.append("{\"name\":\"").append(f.member().name()).append("\",\"bytes\":").append(f.bytes().length).append("}\n");
                }
                output.put(String.format("results/job/batch-%05d.jsonl", batches++), rows.toString().getBytes(StandardCharsets.UTF_8),
                        "application/x-ndjson");
                List<DeleteMessageBatchRequestEntry> done = new ArrayList<>();
                for (Message m : messages) {
                    done.add(DeleteMessageBatchRequestEntry.builder().id("d" + done.size()).receiptHandle(m.receiptHandle()).build());
                }
                aws.sqs().deleteMessageBatch(b -> b.queueUrl(queue).entries(done));
                processed += messages.size();
            }
            RequestCounts worker = ledger.snapshot().minus(setup).minus(upload);

            // reader: one listing, one GET per batch object
            int rowsRead = 0;
            for (String key : output.list("results/job/")) {
                rowsRead += new String(output.get(key).orElseThrow(), StandardCharsets.UTF_8).lines().count();
            }
            assertEquals(COPIES * images.size(), rowsRead);
            RequestCounts results = ledger.snapshot().minus(setup).minus(upload).minus(worker);

            int n = COPIES * images.size();
            System.out.printf("%d images in %d shard(s) of %s bytes; %d worker batches%n", n, shards.size(),
                    shards.stream().map(s -> String.valueOf(s.size())).toList(), batches);
            for (Map.Entry<String, RequestCounts> part : Map.of("upload", upload, "worker", worker, "results", results).entrySet()) {
                System.out.println("== " + part.getKey() + "\n" + new RequestCostReport(part.getValue(), RequestPrices.US_EAST_1, n).table()
                        + new RequestCostReport(part.getValue(), RequestPrices.US_EAST_1, n).oneLine());
            }
            RequestCostReport all = new RequestCostReport(upload.plus(worker).plus(results), RequestPrices.US_EAST_1, n);
            System.out.println("== all\n" + all.table() + all.oneLine());

            // what the design implies, request by request
            assertEquals(shards.size(), upload.get("S3", "PutObject") + upload.get("S3", "CompleteMultipartUpload"),
                    "one PUT per small shard, one multipart upload per large one");
            assertEquals((n + BATCH - 1) / BATCH + shards.size() - 1, upload.get("SQS", "SendMessageBatch"), "ten requests per message batch");
            assertEquals(batches, worker.get("SQS", "DeleteMessageBatch"));
            assertTrue(worker.get("S3", "GetObject") <= batches + shards.size(), "one ranged GET per batch (two where it straddles shards)");
            assertEquals(batches, worker.get("S3", "PutObject"), "one results object per batch");
            assertTrue(all.dollarsPerMillionImages() < 2.0, all.oneLine());
        }
    }

    private static void send(AwsClients aws, String queue, List<SendMessageBatchRequestEntry> batch) {
        if (!batch.isEmpty()) {
            List<SendMessageBatchRequestEntry> entries = List.copyOf(batch);
            aws.sqs().sendMessageBatch(b -> b.queueUrl(queue).entries(entries));
            batch.clear();
        }
    }
}
