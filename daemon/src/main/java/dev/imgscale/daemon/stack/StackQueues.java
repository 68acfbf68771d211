package dev.imgscale.daemon.stack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.aws.AwsFailure;
import dev.imgscale.daemon.stack.InitReport.Outcome;
import dev.imgscale.daemon.stack.InitReport.Resource;
import dev.imgscale.daemon.stack.InitReport.Step;
import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.InvalidAttributeNameException;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.QueueDeletedRecentlyException;
import software.amazon.awssdk.services.sqs.model.QueueDoesNotExistException;
import software.amazon.awssdk.services.sqs.model.QueueNameExistsException;

/**
 * The stack's queues for {@link StackProvisioner}: the dead-letter queue, the request queue that
 * redrives to it, and the result queue, each encrypted (SSE-SQS) and converged to the stack's
 * settings; and deleting them.
 */
final class StackQueues {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final AwsClients clients;

    StackQueues(AwsClients clients) {
        this.clients = clients;
    }

    record QueueState(String url, String arn) {
    }

    static Map<QueueAttributeName, String> deadLetterAttributes() {
        return Map.of(QueueAttributeName.MESSAGE_RETENTION_PERIOD, Long.toString(StackProvisioner.DEAD_LETTER_RETENTION.toSeconds()));
    }

    static Map<QueueAttributeName, String> requestAttributes(StackConfig cfg, String deadLetterArn) {
        Map<QueueAttributeName, String> attributes = new EnumMap<>(QueueAttributeName.class);
        attributes.put(QueueAttributeName.VISIBILITY_TIMEOUT, Long.toString(cfg.visibilityTimeout().toSeconds()));
        attributes.put(QueueAttributeName.RECEIVE_MESSAGE_WAIT_TIME_SECONDS, Integer.toString(StackProvisioner.LONG_POLL_SECONDS));
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
    QueueState ensureQueue(StackConfig cfg, String name, Map<QueueAttributeName, String> wanted, List<Step> steps) {
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
            boolean rejected = e instanceof InvalidAttributeNameException || "InvalidAttributeName".equals(StackProvisioner.errorCode(e));
            if (rejected && cfg.local()) {
                return new Step(Resource.QUEUE_ENCRYPTION, name, Outcome.NOT_SUPPORTED,
                        "the local SQS answers SqsManagedSseEnabled with " + StackProvisioner.errorCode(e));
            }
            if (rejected) {
                throw new ImgscaleException("The SQS endpoint rejects SqsManagedSseEnabled (" + StackProvisioner.errorCode(e) + "), so queue "
                        + name + " cannot be encrypted: use AWS SQS, or --local for the embedded stack.", e);
            }
            throw translate(e, "sqs:SetQueueAttributes", "queue " + name);
        } catch (SdkException e) {
            throw translate(e, "sqs:SetQueueAttributes", "queue " + name);
        }
    }

    DestroyReport.Step deleteQueue(String name) {
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

    private RuntimeException translate(SdkException e, String action, String resource) {
        return AwsFailure.translate(e, action, resource, clients.region().id());
    }
}
