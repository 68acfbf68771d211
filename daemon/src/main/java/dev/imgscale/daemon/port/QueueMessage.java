package dev.imgscale.daemon.port;

/**
 * A received message: its body, the handle that deletes it or changes its visibility, and how
 * many times it has been received (1 the first time).
 */
public record QueueMessage(String id, String receiptHandle, String body, int receiveCount) {
}
