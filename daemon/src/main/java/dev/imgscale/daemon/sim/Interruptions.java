package dev.imgscale.daemon.sim;

import dev.imgscale.classifier.ImgscaleException;
import java.time.Duration;
import java.util.Random;

/**
 * Spot interruptions in the simulator: EC2 reclaims each instance at a random time (a Poisson
 * process of {@code perInstanceHour} per instance-hour, so a lifetime is drawn from an exponential),
 * announcing it {@code notice} ahead (two minutes on EC2).
 *
 * <p>What a worker does with the notice ({@link Response}): {@code STOP} (what issue 16 specifies,
 * and {@code worker/InterruptionWatcher} enables) stops receiving, keeps the images it can finish
 * before the deadline with a margin, hands the rest back at once (visibility 0) and reports itself
 * stopping, so the controller counts it as lost capacity and launches a replacement while it
 * finishes. {@code FIT} does the same but keeps receiving batches as long as they fit before the
 * deadline. {@code IGNORE} (the worker before interruption handling) just dies at the deadline; what
 * it held comes back only after the visibility timeout, and the image in progress is done again.
 *
 * @param perInstanceHour interruptions per instance-hour; 0 turns the model off
 * @param notice          how long before the interruption the notice comes
 * @param response        what workers do with the notice
 */
public record Interruptions(double perInstanceHour, Duration notice, Response response) {
    /** What a worker does with the notice. */
    public enum Response {
        /** Stop receiving, finish what fits, hand back the rest, stop. */
        STOP,
        /** As STOP, but keep receiving batches that fit before the deadline. */
        FIT,
        /** Nothing: die at the deadline holding what it holds. */
        IGNORE;

        /** {@code stop}, {@code fit} or {@code ignore}. */
        public static Response parse(String text) {
            for (Response r : values()) {
                if (r.name().equalsIgnoreCase(text.strip())) {
                    return r;
                }
            }
            throw new ImgscaleException("--on-notice takes stop, fit or ignore, not '" + text + "'.");
        }
    }

    public static final Duration EC2_NOTICE = Duration.ofMinutes(2);
    /** Time a worker keeps for writing its last results and deleting their messages before the deadline. */
    public static final Duration MARGIN = Duration.ofSeconds(10);
    /** The interruption draws use their own stream, so runs without interruptions keep their numbers. */
    private static final long SALT = 0x5107_1e75_0b5eL;

    public Interruptions {
        if (!(perInstanceHour >= 0) || Double.isInfinite(perInstanceHour)) {
            throw new ImgscaleException("--interrupt takes interruptions per instance-hour, 0 or more, not " + perInstanceHour + ".");
        }
        if (response == null) {
            throw new ImgscaleException("The response to an interruption notice is missing.");
        }
        if (notice == null || notice.isNegative() || notice.isZero()) {
            throw new ImgscaleException("The interruption notice must be a positive duration, not " + notice + ".");
        }
    }

    public static Interruptions none() {
        return new Interruptions(0, EC2_NOTICE, Response.STOP);
    }

    public boolean honoured() {
        return response != Response.IGNORE;
    }

    public boolean enabled() {
        return perInstanceHour > 0;
    }

    Random random(long seed) {
        return new Random(seed ^ SALT);
    }

    /** Seconds from launch until EC2 reclaims the instance; infinite when the model is off. */
    double drawLifetime(Random random) {
        if (!enabled()) {
            return Double.POSITIVE_INFINITY;
        }
        return -Math.log(1 - random.nextDouble()) / perInstanceHour * 3600;
    }

    /**
     * What interruptions did in one run.
     *
     * @param interrupted workers EC2 announced an interruption to (whether they act on it or not)
     * @param handedBack  images a noticed worker handed back unstarted, for another worker to take at once
     * @param stranded    images held by a worker when its instance went: back only after the visibility timeout
     * @param redone      of those, the images in progress: their work is lost and done again
     */
    public record Tally(int interrupted, int handedBack, int stranded, int redone) {
    }
}
