package dev.imgscale.daemon.web;

import dev.imgscale.classifier.ImgscaleException;

/** A waiter's job was reset while it waited (answered 410). */
final class JobGoneException extends ImgscaleException {
    private static final long serialVersionUID = 1L;

    JobGoneException(String job) {
        super("Job " + job + " was reset while its images were waiting for results.");
    }
}
