package dev.imgscale.daemon.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.port.ObjectStoreWorkerBoard;
import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.testing.FakeTime;
import dev.imgscale.daemon.testing.InMemoryObjectStore;
import dev.imgscale.daemon.testing.InMemoryWorkQueue;
import dev.imgscale.daemon.wire.ImageLocation;
import dev.imgscale.daemon.wire.JobManifest;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.Keys;
import dev.imgscale.daemon.wire.WorkRequest;
import dev.imgscale.daemon.wire.WorkerState;
import dev.imgscale.daemon.wire.WorkerStatus;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The upload of local files in shards against the in-memory twins: order, pages, failures, the version check. */
class ShardUploadTest {
    final FakeTime time = new FakeTime();
    final Clock clock = Clock.fixed(FakeTime.START, ZoneOffset.UTC);
    final InMemoryObjectStore input = new InMemoryObjectStore("input");
    final InMemoryObjectStore output = input.inBucket("output");
    final List<String> events = new ArrayList<>();
    final InMemoryWorkQueue requests = new InMemoryWorkQueue("requests", time);

    {
        // at every send: the shards named are stored and the job is open, the order a worker relies on
        requests.inject(InMemoryWorkQueue.Op.SEND, bodies -> {
            for (String body : bodies) {
                WorkRequest r = WorkRequest.parse(body);
                ImageLocation.InShard s = (ImageLocation.InShard) r.location();
                assertTrue(input.exists(s.shardKey()), "a request was sent before its shard " + s.shardKey() + " was stored");
                JobManifest m = Json.read(output.get(Keys.manifest(r.job())).orElseThrow(), JobManifest.class);
                assertFalse(m.sealed(), "a request was sent after the job was sealed");
            }
            synchronized (events) {
                events.add("send " + bodies.size());
            }
            return null;
        });
    }

    final ObjectStoreWorkerBoard board = new ObjectStoreWorkerBoard(output);

    @TempDir
    Path dir;

    ShardUpload upload(int maxMembers) {
        return new ShardUpload(input, output, requests, board, "test", clock, maxMembers, 64L * 1024 * 1024);
    }

    List<UploadItem> files(int n) throws Exception {
        List<UploadItem> items = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Path f = dir.resolve(String.format("img%03d.jpg", i));
            Files.write(f, ("image " + i).repeat(i + 1).getBytes(StandardCharsets.UTF_8));
            items.add(new UploadItem(f, "sub/" + f.getFileName(), Files.size(f)));
        }
        return items;
    }

    List<WorkRequest> sent() {
        List<WorkRequest> out = new ArrayList<>();
        for (QueueMessage m : requests.receive(10, Duration.ZERO, Duration.ofMinutes(5))) {
            out.add(WorkRequest.parse(m.body()));
        }
        return out;
    }

    List<WorkRequest> allSent() {
        List<WorkRequest> all = new ArrayList<>();
        for (List<WorkRequest> batch; !(batch = sent()).isEmpty(); ) {
            all.addAll(batch);
        }
        return all;
    }

    @Test
    void should_pack_files_into_shards_send_one_request_per_file_naming_its_bytes_and_seal_the_job_last() throws Exception {
        List<UploadItem> items = files(25);
        UploadReport report = upload(10).upload(items, 4, UploadListener.NONE);

        assertEquals(25, report.queued());
        assertEquals(List.of(), report.failures());
        List<String> shards = input.list(Keys.shardPrefix(report.job()));
        assertEquals(List.of("00000", "00001", "00002"), shards.stream()
                .map(k -> k.substring(Keys.shardPrefix(report.job()).length(), k.length() - 4)).toList());
        assertEquals(List.of(), input.list(Keys.INPUT), "no image is its own object any more");
        List<WorkRequest> all = allSent();
        assertEquals(25, all.size());
        for (WorkRequest r : all) {
            ImageLocation.InShard s = (ImageLocation.InShard) r.location();
            int i = Integer.parseInt(r.name().substring("sub/img".length(), "sub/img".length() + 3));
            byte[] expected = Files.readAllBytes(items.get(i).file());
            assertArrayEquals(expected, input.getRange(s.shardKey(), s.offset(), s.length(), 1 << 20).orElseThrow(), r.name());
            assertEquals(items.get(i).file().toString(), r.source());
        }
        JobManifest m = Json.read(output.get(Keys.manifest(report.job())).orElseThrow(), JobManifest.class);
        assertEquals(2, m.v());
        assertEquals(25, m.total());
        assertEquals(1, m.namePages());
        assertEquals(25, m.count());
        assertEquals(names(report.job(), 0), new HashSet<>(m.images()), "a one-page job lists its names for this release's readers");
        assertEquals(25, names(report.job(), 0).size());
        assertEquals(3, events.stream().filter(e -> e.startsWith("send")).count(), "one send per shard, as each is stored");
    }

    Set<String> names(String job, int page) {
        Set<String> out = new HashSet<>();
        String text = new String(output.get(Keys.namePage(job, page)).orElseThrow(), StandardCharsets.UTF_8);
        for (String line : text.split("\n")) {
            out.add(Json.read(line.getBytes(StandardCharsets.UTF_8), String.class));
        }
        return out;
    }

    @Test
    void should_write_names_in_pages_as_they_fill_and_list_them_in_the_manifest_only_for_a_one_page_job() {
        JobRecordWriter record = new JobRecordWriter(output, "20260101-000000-abcdef", 1, "me@host", 3);
        record.open();
        JobManifest open = Json.read(output.get(Keys.manifest(record.job())).orElseThrow(), JobManifest.class);
        assertFalse(open.sealed());
        record.add(List.of("a.jpg", "b.jpg"));
        assertFalse(output.exists(Keys.namePage(record.job(), 0)), "no page before it is full");
        record.add(List.of("c.jpg", "d.jpg", "\"quoted\"\nname.jpg"));
        assertTrue(output.exists(Keys.namePage(record.job(), 0)), "a full page is written at once");
        record.add(List.of("f.jpg", "g.jpg"));
        JobManifest sealed = record.seal();

        assertEquals(7, sealed.total());
        assertEquals(3, sealed.namePages());
        assertNull(sealed.images(), "a job of several pages is not listed in its manifest");
        assertEquals(Set.of("a.jpg", "b.jpg", "c.jpg"), names(record.job(), 0));
        assertEquals(Set.of("d.jpg", "\"quoted\"\nname.jpg", "f.jpg"), names(record.job(), 1));
        assertEquals(Set.of("g.jpg"), names(record.job(), 2));
        assertEquals(sealed, Json.read(output.get(Keys.manifest(record.job())).orElseThrow(), JobManifest.class));
    }

    @Test
    void should_report_and_skip_a_file_that_cannot_be_read_and_keep_its_neighbours() throws Exception {
        List<UploadItem> items = new ArrayList<>(files(5));
        Files.delete(items.get(2).file());
        List<String> failed = new ArrayList<>();
        UploadReport report = upload(10).upload(items, 2, new UploadListener() {
            @Override
            public void failed(UploadItem item, String reason) {
                failed.add(item.name());
            }
        });

        assertEquals(4, report.queued());
        assertEquals(1, report.failures().size());
        assertEquals(items.get(2).file().toString(), report.failures().get(0).file());
        assertEquals(List.of("sub/img002.jpg"), failed);
        assertEquals(Set.of("sub/img000.jpg", "sub/img001.jpg", "sub/img003.jpg", "sub/img004.jpg"),
                new HashSet<>(allSent().stream().map(WorkRequest::name).toList()));
        assertEquals(4, Json.read(output.get(Keys.manifest(report.job())).orElseThrow(), JobManifest.class).total());
    }

    @Test
    void should_report_every_file_of_a_shard_that_cannot_be_stored_and_send_none_of_its_requests() throws Exception {
        input.inject(InMemoryObjectStore.Op.PUT, key -> key.endsWith("00001.tar") ? new ImgscaleException("denied") : null);
        UploadReport report = upload(2).upload(files(5), 1, UploadListener.NONE);

        assertEquals(3, report.queued());
        assertEquals(2, report.failures().size());
        assertEquals(Set.of("sub/img000.jpg", "sub/img001.jpg", "sub/img004.jpg"),
                new HashSet<>(allSent().stream().map(WorkRequest::name).toList()));
        assertFalse(input.exists(Keys.shardPrefix(report.job()) + "00001.tar"));
    }

    @Test
    void should_leave_no_job_when_no_file_could_be_read() throws Exception {
        List<UploadItem> items = files(2);
        for (UploadItem item : items) {
            Files.delete(item.file());
        }
        UploadReport report = upload(10).upload(items, 1, UploadListener.NONE);

        assertEquals(0, report.queued());
        assertEquals(2, report.failures().size());
        assertEquals(List.of(), output.list(Keys.JOBS), "no manifest left behind");
        assertEquals(List.of(), requests.bodies());
    }

    @Test
    void should_name_colliding_inputs_without_taking_another_inputs_name() throws Exception {
        Path a = Files.writeString(dir.resolve("a"), "1");
        Path b = Files.writeString(dir.resolve("b"), "2");
        Path c = Files.writeString(dir.resolve("c"), "3");
        Path d = Files.writeString(dir.resolve("d"), "4");
        List<UploadItem> items = List.of(new UploadItem(a, "DUP.jpg", 1), new UploadItem(b, "dup.jpg", 1),
                new UploadItem(c, "dup.jpg", 1), new UploadItem(d, "dup~2.jpg", 1));
        upload(10).upload(items, 1, UploadListener.NONE);

        List<WorkRequest> all = allSent();
        assertEquals(Set.of("DUP.jpg", "dup.jpg", "dup~3.jpg", "dup~2.jpg"), new HashSet<>(all.stream().map(WorkRequest::name).toList()));
        for (WorkRequest r : all) {
            ImageLocation.InShard s = (ImageLocation.InShard) r.location();
            String bytes = new String(input.getRange(s.shardKey(), s.offset(), s.length(), 10).orElseThrow(), StandardCharsets.UTF_8);
            String expected = switch (r.name()) {
                case "DUP.jpg" -> "1";
                case "dup.jpg" -> "2";
                case "dup~3.jpg" -> "3";
                default -> "4";
            };
            assertEquals(expected, bytes, r.name() + " carries its own file's bytes");
        }
    }

    @Test
    void should_refuse_in_one_sentence_when_a_live_worker_cannot_read_version_two_and_upload_nothing() throws Exception {
        long now = clock.millis();
        board.report(new WorkerStatus(1, "i-old", WorkerState.POLLING, 0, 0, 0, now - 60_000, now - 60_000, now - 2_000));
        ImgscaleException e = assertThrows(ImgscaleException.class, () -> upload(10).upload(files(3), 1, UploadListener.NONE));

        assertTrue(e.getMessage().startsWith("Worker i-old of stack test runs an earlier imgscale release"), e.getMessage());
        assertEquals(1, e.getMessage().split("\\. ").length, "one sentence: " + e.getMessage());
        assertEquals(List.of(), input.list(""), "nothing stored");
        assertEquals(List.of(), output.list(Keys.JOBS), "no job written");
        assertEquals(List.of(), requests.bodies());
    }

    @Test
    void should_say_what_to_do_when_the_worker_reports_cannot_be_read() throws Exception {
        output.inject(InMemoryObjectStore.Op.GET, key -> key.startsWith(ObjectStoreWorkerBoard.WORKERS)
                ? new IllegalStateException("Access Denied") : null);
        long now = clock.millis();
        board.report(new WorkerStatus(1, "i-new", WorkerState.WORKING, 3, 0, 0, now, 0, now, WorkRequest.VERSION));
        ImgscaleException e = assertThrows(ImgscaleException.class, () -> upload(10).upload(files(1), 1, UploadListener.NONE));

        assertTrue(e.getMessage().contains("run examples/iam/create-roles.sh again"), e.getMessage());
        assertEquals(List.of(), input.list(""), "nothing stored");
    }

    @Test
    void should_go_ahead_with_workers_of_this_release_or_old_workers_that_stopped_or_went_silent() throws Exception {
        long now = clock.millis();
        board.report(new WorkerStatus(1, "i-new", WorkerState.WORKING, 3, 0, 0, now - 60_000, 0, now - 1_000, WorkRequest.VERSION));
        board.report(new WorkerStatus(1, "i-stopped", WorkerState.STOPPED, 0, 0, 0, now - 60_000, now - 9_000, now - 1_000));
        board.report(new WorkerStatus(1, "i-silent", WorkerState.POLLING, 0, 0, 0, now - 600_000, now - 600_000, now - 31_000));

        assertEquals(3, upload(10).upload(files(3), 1, UploadListener.NONE).queued());
    }

    @Test
    void should_read_the_inputs_twice_and_hold_none_of_them() throws Exception {
        List<UploadItem> items = files(7);
        int[] passes = {0};
        Iterable<UploadItem> twice = () -> {
            passes[0]++;
            return items.iterator();
        };
        upload(3).upload(twice, 2, UploadListener.NONE);
        assertEquals(2, passes[0], "one pass for the names, one for the files");
    }
}
