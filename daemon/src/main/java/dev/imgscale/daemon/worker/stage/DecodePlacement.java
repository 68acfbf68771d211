package dev.imgscale.daemon.worker.stage;

/**
 * Where the worker decodes images, and how many at once.
 *
 * <p>Decoding runs in the classify stage, overlapped with inference: each stream decodes its next
 * batch while the engine runs its current one, on as many threads as {@link DecodeTuner} chooses
 * from the measured decode and inference times (at most {@code slots}), unless the engines leave
 * cores free (every stream's threads together fewer than the processors, e.g. {@code --streams 1
 * --threads 1} on 2 cores): then the receive stage decodes on the free cores with all the slots.
 * Downloads, result writes, publishing and deletes overlap the engine either way: they wait on the
 * network. The operator may fix the count ({@code worker --decode-threads N}, or the older system
 * property {@link DecodeTuner#OVERRIDE}): then {@code slots} is that count in either place.
 *
 * @param ahead whether images are decoded in the receive stage, beside the engine
 * @param slots decodes running (and decoded images alive, each up to 150 MB) at once, at most
 * @param given the count the operator fixed, 0 when the tuner chooses
 */
public record DecodePlacement(boolean ahead, int slots, int given) {
    /** The system property ({@code true} or {@code false}) that overrides the rule, to measure one way against the other. */
    public static final String OVERRIDE = "imgscale.worker.decodeAhead";

    /** A placement whose count the tuner chooses. */
    public DecodePlacement(boolean ahead, int slots) {
        this(ahead, slots, 0);
    }

    /** The placement for this classifier on this many processors, the count chosen (or fixed by the system property). */
    public static DecodePlacement choose(ImageClassifier classifier, int processors) {
        return choose(classifier, processors, 0);
    }

    /**
     * The placement for this classifier on this many processors.
     *
     * @param decodeThreads the count given by {@code --decode-threads}, 0 to choose (or to read the system property)
     */
    public static DecodePlacement choose(ImageClassifier classifier, int processors, int decodeThreads) {
        if (decodeThreads < 0) {
            throw new IllegalArgumentException("the decode threads given must be positive, or 0 to choose, not " + decodeThreads);
        }
        int given = decodeThreads > 0 ? decodeThreads : DecodeTuner.overrideProperty();
        // every stream's threads: the cores the engines take when all of them run a pass
        int engineThreads = classifier.engineThreads() * classifier.streams();
        boolean ahead = decodeAhead(engineThreads, processors);
        if (given > 0) {
            return new DecodePlacement(ahead, given, given);
        }
        int decoders = Math.max(1, classifier.decodeThreads());
        return new DecodePlacement(ahead, ahead ? Math.max(1, Math.min(decoders, processors - engineThreads)) : decoders, 0);
    }

    /** The rule: decode beside the engine only when the engines' threads leave processors free. */
    public static boolean decodeAhead(int engineThreads, int processors) {
        String forced = System.getProperty(OVERRIDE);
        if (forced != null) {
            return Boolean.parseBoolean(forced);
        }
        return engineThreads > 0 && engineThreads < processors;
    }

    /** For the start log and reports: where images are decoded and how many at once, and who chose the count. */
    public String describe() {
        if (ahead) {
            return slots + " at once in the receive stage, beside the engine" + (given > 0 ? " (given)" : "");
        }
        return given > 0 ? "overlapped with inference, " + slots + " at once (given)"
                : "overlapped with inference, 1 to " + slots + " at once as measured decode and inference times choose";
    }
}
