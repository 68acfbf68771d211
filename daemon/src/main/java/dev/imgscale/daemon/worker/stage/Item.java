package dev.imgscale.daemon.worker.stage;

import dev.imgscale.classifier.Prediction;
import dev.imgscale.daemon.port.QueueMessage;
import dev.imgscale.daemon.wire.WorkRequest;
import dev.imgscale.daemon.wire.ResultRecord;
import java.util.List;

/** One request of a batch, as it goes through the stages. Touched by one thread at a time. */
final class Item {
    final QueueMessage message;
    WorkRequest request;
    String job;
    String name;
    Disposition disposition = Disposition.PENDING;
    /** The downloaded image, until it is decoded. */
    byte[] bytes;
    float[] tensor;
    List<Prediction> top;
    String error;
    String errorMessage;
    String leaveReason;
    ResultRecord record;

    Item(QueueMessage message) {
        this.message = message;
    }

    /** The request gets an error result: written, published, deleted, never retried. */
    void fail(String code, String message) {
        disposition = Disposition.RESULT;
        error = code;
        errorMessage = message;
    }

    /** The request is left to come back after its visibility timeout. */
    void leave(String reason) {
        disposition = Disposition.LEAVE;
        leaveReason = reason;
    }

    boolean pending() {
        return disposition == Disposition.PENDING;
    }
}
