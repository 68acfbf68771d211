package dev.imgscale.daemon.stack;

import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.aws.S3ObjectStore;
import dev.imgscale.daemon.aws.SqsWorkQueue;
import dev.imgscale.daemon.port.ObjectStore;
import dev.imgscale.daemon.port.WorkQueue;

/**
 * One stack, reached: its configuration, the AWS clients, and its buckets and queues as ports,
 * opened on first use. Owns the clients: close it when done.
 */
public final class StackContext implements AutoCloseable {
    private final StackConfig config;
    private final AwsClients clients;
    private ObjectStore input;
    private ObjectStore output;
    private WorkQueue requests;
    private WorkQueue deadLetters;
    private WorkQueue results;

    public StackContext(StackConfig config, AwsClients clients) {
        this.config = config;
        this.clients = clients;
    }

    public StackConfig config() {
        return config;
    }

    public AwsClients clients() {
        return clients;
    }

    public synchronized ObjectStore input() {
        if (input == null) {
            input = new S3ObjectStore(clients.s3(), config.names().inputBucket());
        }
        return input;
    }

    public synchronized ObjectStore output() {
        if (output == null) {
            output = new S3ObjectStore(clients.s3(), config.names().outputBucket());
        }
        return output;
    }

    public synchronized WorkQueue requests() {
        if (requests == null) {
            requests = SqsWorkQueue.open(clients.sqs(), config.names().requestQueue());
        }
        return requests;
    }

    public synchronized WorkQueue deadLetters() {
        if (deadLetters == null) {
            deadLetters = SqsWorkQueue.open(clients.sqs(), config.names().deadLetterQueue());
        }
        return deadLetters;
    }

    public synchronized WorkQueue results() {
        if (results == null) {
            results = SqsWorkQueue.open(clients.sqs(), config.names().resultQueue());
        }
        return results;
    }

    @Override
    public void close() {
        clients.close();
    }
}
