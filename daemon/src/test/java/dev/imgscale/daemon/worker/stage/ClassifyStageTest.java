package dev.imgscale.daemon.worker.stage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.imgscale.classifier.decode.ErrorCode;
import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.testing.FakeClassifier;
import dev.imgscale.daemon.testing.FakeTime;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The classify stage's two threads, decode pool and hand-off, with a fake classifier in fake time. */
class ClassifyStageTest {
    private final FakeTime time = new FakeTime();
    private final InHand inHand = new InHand(time, new WorkerCounters(false));
    private final ShutdownSignal shutdown = new ShutdownSignal(time);
    private final ExecutorService pool = Executors.newFixedThreadPool(2);
    private final SynchronousQueue<Batch> toClassify = new SynchronousQueue<>();
    private final BlockingQueue<Batch> toFinish = new LinkedBlockingQueue<>();
    private final List<Thread> threads = new ArrayList<>();
    private int nextId;

    @AfterEach
    void stop() {
        threads.forEach(Thread::interrupt);
        pool.shutdownNow();
    }

    /** Streams classify stages over one decoder, as the worker runs them. */
    private void start(FakeClassifier classifier, Decoder decoder, int streams) {
        AtomicInteger running = new AtomicInteger(streams);
        for (int i = 0; i < streams; i++) {
            Thread t = new Thread(new ClassifyStage(classifier, decoder, pool, time, inHand, shutdown, toClassify, toFinish, running),
                    "classify-" + i);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
    }

    /** A batch of these images, each request named by its image's description. */
    private Batch batch(byte[]... images) {
        List<QueueMessage> messages = new ArrayList<>();
        for (int i = 0; i < images.length; i++) {
            messages.add(new QueueMessage("m" + nextId++, "r", new String(images[i], StandardCharsets.UTF_8), 1));
        }
        Batch batch = inHand.hold(messages);
        for (int i = 0; i < images.length; i++) {
            Item item = new Item(messages.get(i));
            item.bytes = images[i];
            batch.items.add(item);
        }
        batch.stage = BatchStage.PREPARED;
        return batch;
    }

    private Batch mixed(int n) {
        return batch(FakeClassifier.image("cat" + n), FakeClassifier.rejected(ErrorCode.CORRUPT), FakeClassifier.image("dog" + n),
                FakeClassifier.crashing(), "not an image".getBytes(StandardCharsets.UTF_8), FakeClassifier.image("eel" + n));
    }

    /** Everything handed to the finish stage up to and including the end marker, which is checked to come once. */
    private List<Batch> drain() throws InterruptedException {
        List<Batch> out = new ArrayList<>();
        while (true) {
            Batch b = toFinish.take();
            if (b == Batch.END) {
                break;
            }
            out.add(b);
        }
        assertNull(toFinish.poll(), "nothing after the end marker");
        return out;
    }

    private static void assertClassified(Batch b) {
        assertEquals(BatchStage.CLASSIFIED, b.stage);
        List<Item> items = b.items;
        assertEquals(Disposition.RESULT, items.get(0).disposition);
        assertEquals("cat", items.get(0).top.get(0).label().substring(0, 3));
        assertNull(items.get(0).error);
        assertEquals("CORRUPT", items.get(1).error, "the decoder's rejection is that image's error result");
        assertEquals(Disposition.RESULT, items.get(1).disposition);
        assertEquals("dog", items.get(2).top.get(0).label().substring(0, 3), "the neighbour of a rejected image is classified");
        assertEquals(Disposition.LEAVE, items.get(3).disposition, "a decoder crash leaves the image to be retried");
        assertEquals("CORRUPT", items.get(4).error);
        assertEquals("eel", items.get(5).top.get(0).label().substring(0, 3));
    }

    @Test
    void should_hand_every_batch_on_once_in_order_with_decode_errors_per_image() throws Exception {
        FakeClassifier classifier = new FakeClassifier(time, 2, 1, 1 << 20);
        Decoder decoder = new Decoder(classifier, 2, apply -> new DecodeTuner(2, 1, 2, 0, apply));
        start(classifier, decoder, 1);
        List<Batch> sent = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            Batch b = mixed(i);
            sent.add(b);
            toClassify.put(b);
        }
        toClassify.put(Batch.END);
        List<Batch> finished = drain();
        assertEquals(sent.size(), finished.size());
        for (int i = 0; i < sent.size(); i++) {
            assertSame(sent.get(i), finished.get(i), "batch " + i + ": one stream keeps the order");
            assertClassified(finished.get(i));
        }
        // only the three good images of each batch reach the engine, in one pass per batch
        assertEquals(List.of(3), new ArrayList<>(new HashSet<>(classifier.passes())));
        assertEquals(40, classifier.passes().size());
        for (Thread t : threads) {
            t.join();
        }
    }

    @Test
    void should_lose_and_repeat_no_batch_across_streams() throws Exception {
        FakeClassifier classifier = new FakeClassifier(time, 1, 2, 1 << 20);
        Decoder decoder = new Decoder(classifier, 2, apply -> new DecodeTuner(2, 2, 1, 0, apply));
        start(classifier, decoder, 2);
        Set<Batch> sent = new HashSet<>();
        for (int i = 0; i < 60; i++) {
            Batch b = mixed(i);
            sent.add(b);
            toClassify.put(b);
        }
        toClassify.put(Batch.END);
        List<Batch> finished = drain();
        assertEquals(sent.size(), finished.size(), "no batch lost or handed on twice");
        assertEquals(sent, new HashSet<>(finished));
        finished.forEach(ClassifyStageTest::assertClassified);
        for (Thread t : threads) {
            t.join();
        }
    }

    /** Sends batches one at a time (each finished before the next), so no decode overlaps a pass and fake time measures exactly. */
    private void oneAtATime(int batches) throws InterruptedException {
        for (int i = 0; i < batches; i++) {
            Batch b = batch(FakeClassifier.image("a"), FakeClassifier.image("b"), FakeClassifier.image("c"), FakeClassifier.image("d"));
            toClassify.put(b);
            assertSame(b, toFinish.take());
        }
    }

    @Test
    void should_decode_on_as_many_threads_as_the_measured_times_ask() throws Exception {
        FakeClassifier classifier = new FakeClassifier(time, 2, 1, 1 << 20);
        Decoder decoder = new Decoder(classifier, 2, apply -> new DecodeTuner(2, 1, 2, 0, apply));
        start(classifier, decoder, 1);
        assertEquals(1, decoder.open());
        // int8 ResNet-50's 17 ms an image and a small photo's 6 ms: one thread keeps up
        classifier.costs(Duration.ofMillis(6), Duration.ofMillis(17));
        oneAtATime(DecodeTuner.EVERY_PASSES);
        assertEquals(1, decoder.open());
        assertEquals(1, decoder.tuner().split().decodeThreads());
        // 12 MP photos decoded at full size, 126 ms each: two
        classifier.costs(Duration.ofMillis(126), Duration.ofMillis(17));
        oneAtATime(2 * DecodeTuner.EVERY_PASSES);
        assertEquals(2, decoder.open());
        assertEquals("cores", decoder.tuner().split().bottleneck());
        // and back
        classifier.costs(Duration.ofMillis(6), Duration.ofMillis(17));
        oneAtATime(4 * DecodeTuner.EVERY_PASSES);
        assertEquals(1, decoder.open());
        toClassify.put(Batch.END);
        assertEquals(List.of(), drain());
    }

    @Test
    void should_keep_the_operators_count() throws Exception {
        FakeClassifier classifier = new FakeClassifier(time, 2, 1, 1 << 20);
        Decoder decoder = new Decoder(classifier, 2, apply -> new DecodeTuner(2, 1, 2, 1, apply));
        start(classifier, decoder, 1);
        classifier.costs(Duration.ofMillis(126), Duration.ofMillis(17));
        oneAtATime(4 * DecodeTuner.EVERY_PASSES);
        assertEquals(1, decoder.open(), "given one thread, it stays at one though the measurements ask for two");
        assertEquals(true, decoder.tuner().split().overridden());
        toClassify.put(Batch.END);
        assertEquals(List.of(), drain());
    }
}
