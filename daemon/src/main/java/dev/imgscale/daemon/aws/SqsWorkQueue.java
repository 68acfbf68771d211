package dev.imgscale.daemon.aws;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.ThreadSafe;
import dev.imgscale.daemon.port.QueueDepth;
import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.port.WorkQueue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.BatchResultErrorEntry;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityBatchResponse;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchResponse;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;
import software.amazon.awssdk.services.sqs.model.PurgeQueueInProgressException;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.QueueDoesNotExistException;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResponse;

/**
 * {@link WorkQueue} over one SQS queue, through the shared {@link SqsClient} from
 * {@link AwsClients}. Whole calls that fail transiently are retried by the client's retry mode;
 * what this class adds is the handling of the batch calls, which succeed as a call while single
 * entries fail (throttled, internal error): such entries are sent again a few times with
 * backoff, and what still fails is reported.
 */
@ThreadSafe
public final class SqsWorkQueue implements WorkQueue {
    /** SQS takes at most ten entries per batch call and returns at most ten messages per receive. */
    static final int BATCH = 10;
    /** SQS long polls for at most 20 s. */
    static final Duration MAX_WAIT = Duration.ofSeconds(20);
    /** SQS visibility timeouts are at most 12 hours. */
    static final Duration MAX_VISIBILITY = Duration.ofHours(12);
    private static final int ATTEMPTS = 4;
    private static final long FIRST_BACKOFF_MS = 100;

    private static final Logger LOG = LoggerFactory.getLogger(SqsWorkQueue.class);

    private final SqsClient sqs;
    private final String name;
    private final String url;

    public SqsWorkQueue(SqsClient sqs, String name, String url) {
        this.sqs = Objects.requireNonNull(sqs, "sqs");
        this.name = Objects.requireNonNull(name, "name");
        this.url = Objects.requireNonNull(url, "url");
    }

    /**
     * The queue of that name, its URL looked up now.
     *
     * @throws ImgscaleException when there is no such queue, saying how to create the stack
     */
    public static SqsWorkQueue open(SqsClient sqs, String queueName) {
        try {
            return new SqsWorkQueue(sqs, queueName, sqs.getQueueUrl(b -> b.queueName(queueName)).queueUrl());
        } catch (QueueDoesNotExistException e) {
            throw new ImgscaleException("The queue " + queueName + " does not exist; run `imgscale init` (or `imgscale local up`) first.",
                    e);
        }
    }

    @Override
    public String name() {
        return name;
    }

    /** The queue's URL. */
    public String url() {
        return url;
    }

    @Override
    public void send(List<String> bodies) {
        for (int start = 0; start < bodies.size(); start += BATCH) {
            List<String> chunk = bodies.subList(start, Math.min(bodies.size(), start + BATCH));
            Map<String, String> pending = new HashMap<>();
            for (int i = 0; i < chunk.size(); i++) {
                pending.put(Integer.toString(i), chunk.get(i));
            }
            retryEntries("send", pending, entries -> {
                List<SendMessageBatchRequestEntry> request = new ArrayList<>();
                entries.forEach((id, body) -> request.add(SendMessageBatchRequestEntry.builder().id(id).messageBody(body).build()));
                SendMessageBatchResponse response = sqs.sendMessageBatch(b -> b.queueUrl(url).entries(request));
                return response.failed();
            });
        }
    }

    @Override
    public List<QueueMessage> receive(int max, Duration wait, Duration visibility) {
        int count = Math.max(1, Math.min(BATCH, max));
        int waitSeconds = (int) Math.max(0, Math.min(MAX_WAIT.toSeconds(), ceilSeconds(wait)));
        int visibilitySeconds = visibilitySeconds(visibility);
        List<Message> messages = sqs.receiveMessage(b -> b.queueUrl(url)
                .maxNumberOfMessages(count)
                .waitTimeSeconds(waitSeconds)
                .visibilityTimeout(visibilitySeconds)
                .messageSystemAttributeNames(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT)).messages();
        List<QueueMessage> out = new ArrayList<>(messages.size());
        for (Message m : messages) {
            String receives = m.attributes().get(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT);
            out.add(new QueueMessage(m.messageId(), m.receiptHandle(), m.body(), parseCount(receives)));
        }
        return out;
    }

    /**
     * {@inheritDoc}
     *
     * @throws ImgscaleException when some messages could not be extended (typically because their
     *     visibility had already expired and another receiver has them now)
     */
    @Override
    public void extendVisibility(Collection<QueueMessage> messages, Duration visibility) {
        int seconds = visibilitySeconds(visibility);
        forEachBatch("extend the visibility of", messages, entries -> {
            List<ChangeMessageVisibilityBatchRequestEntry> request = new ArrayList<>();
            entries.forEach((id, m) -> request.add(ChangeMessageVisibilityBatchRequestEntry.builder()
                    .id(id).receiptHandle(m.receiptHandle()).visibilityTimeout(seconds).build()));
            ChangeMessageVisibilityBatchResponse response = sqs.changeMessageVisibilityBatch(b -> b.queueUrl(url).entries(request));
            return response.failed();
        });
    }

    /**
     * {@inheritDoc}
     *
     * @throws ImgscaleException when some messages could not be deleted; the others are deleted
     */
    @Override
    public void delete(Collection<QueueMessage> messages) {
        forEachBatch("delete", messages, entries -> {
            List<DeleteMessageBatchRequestEntry> request = new ArrayList<>();
            entries.forEach((id, m) -> request.add(DeleteMessageBatchRequestEntry.builder().id(id).receiptHandle(m.receiptHandle()).build()));
            DeleteMessageBatchResponse response = sqs.deleteMessageBatch(b -> b.queueUrl(url).entries(request));
            return response.failed();
        });
    }

    @Override
    public QueueDepth depth() {
        Map<QueueAttributeName, String> a = sqs.getQueueAttributes(b -> b.queueUrl(url).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED)).attributes();
        return new QueueDepth(parseLong(a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES)),
                parseLong(a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)),
                parseLong(a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED)));
    }

    /**
     * Removes every message. SQS allows one PurgeQueue a minute per queue; when one already ran in
     * the last minute, the messages sent since are received and deleted instead (messages in flight
     * to a worker cannot be removed that way, and are left).
     */
    @Override
    public void purge() {
        try {
            sqs.purgeQueue(b -> b.queueUrl(url));
        } catch (PurgeQueueInProgressException e) {
            LOG.debug("A purge of {} ran in the last minute; receiving and deleting instead", name);
            while (true) {
                List<QueueMessage> batch = receive(BATCH, Duration.ZERO, Duration.ofSeconds(30));
                if (batch.isEmpty()) {
                    return;
                }
                delete(batch);
            }
        }
    }

    @Override
    public String toString() {
        return "SqsWorkQueue[" + name + "]";
    }

    /** One batch call on some entries, by entry id; returns the entries that failed. */
    @FunctionalInterface
    private interface BatchCall<T> {
        List<BatchResultErrorEntry> call(Map<String, T> entries);
    }

    /** Runs the call on the messages, ten at a time, retrying failed entries; throws if some still fail. */
    private void forEachBatch(String what, Collection<QueueMessage> messages, BatchCall<QueueMessage> call) {
        List<QueueMessage> all = new ArrayList<>(messages);
        List<String> failures = new ArrayList<>();
        for (int start = 0; start < all.size(); start += BATCH) {
            Map<String, QueueMessage> pending = new HashMap<>();
            List<QueueMessage> chunk = all.subList(start, Math.min(all.size(), start + BATCH));
            for (int i = 0; i < chunk.size(); i++) {
                pending.put(Integer.toString(i), chunk.get(i));
            }
            try {
                retryEntries(what, pending, call);
            } catch (BatchEntriesFailed e) {
                failures.addAll(e.reasons);
            }
        }
        if (!failures.isEmpty()) {
            throw new BatchEntriesFailed("Could not " + what + " " + failures.size() + " message(s) of queue " + name
                    + ", for example: " + failures.get(0) + ".", failures);
        }
    }

    /**
     * Calls with the pending entries until none fails, at most {@value #ATTEMPTS} times with
     * doubling backoff. Entries that failed through the sender's fault (a malformed or expired
     * receipt handle, a body too large) are not retried: the same request would fail again.
     */
    private <T> void retryEntries(String what, Map<String, T> pending, BatchCall<T> call) {
        Map<String, T> left = new HashMap<>(pending);
        List<String> reasons = new ArrayList<>();
        long backoff = FIRST_BACKOFF_MS;
        for (int attempt = 1; !left.isEmpty(); attempt++) {
            List<BatchResultErrorEntry> failed = call.call(left);
            Map<String, T> retry = new HashMap<>();
            for (BatchResultErrorEntry f : failed) {
                T entry = left.get(f.id());
                if (entry == null) {
                    continue;
                }
                if (Boolean.TRUE.equals(f.senderFault()) || attempt == ATTEMPTS) {
                    reasons.add(f.code() + ": " + f.message());
                } else {
                    retry.put(f.id(), entry);
                }
            }
            left = retry;
            if (!left.isEmpty()) {
                LOG.debug("{} of {} entries failed to {} on {}; retrying in {} ms", left.size(), pending.size(), what, name, backoff);
                sleep(backoff);
                backoff *= 2;
            }
        }
        if (!reasons.isEmpty()) {
            throw new BatchEntriesFailed("Could not " + what + " " + reasons.size() + " message(s) of queue " + name
                    + ", for example: " + reasons.get(0) + ".", reasons);
        }
    }

    /** Some entries of a batch call failed even after retries; the others succeeded. */
    static final class BatchEntriesFailed extends ImgscaleException {
        private static final long serialVersionUID = 1L;
        private final transient List<String> reasons;

        BatchEntriesFailed(String message, List<String> reasons) {
            super(message);
            this.reasons = List.copyOf(reasons);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImgscaleException("Interrupted while retrying a queue operation.", e);
        }
    }

    private static long ceilSeconds(Duration d) {
        long s = d.getSeconds();
        return d.getNano() > 0 ? s + 1 : s;
    }

    private static int visibilitySeconds(Duration visibility) {
        return (int) Math.max(0, Math.min(MAX_VISIBILITY.toSeconds(), ceilSeconds(visibility)));
    }

    private static int parseCount(String value) {
        if (value == null) {
            return 1;
        }
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            return 1;
        }
    }

    private static long parseLong(String value) {
        if (value == null) {
            return 0;
        }
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
