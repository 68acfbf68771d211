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
 * network.
 *
 * @param ahead whether images are decoded in the receive stage, beside the engine
 * @param slots decodes running (and decoded images alive, each up to 150 MB) at once, at most
 */
public record DecodePlacement(boolean ahead, int slots) {
    /** The system property ({@code true} or {@code false}) that overrides the rule, to measure one way against the other. */
    public static final String OVERRIDE = "imgscale.worker.decodeAhead";

    /** The placement for this classifier on this many processors. */
    public static DecodePlacement choose(ImageClassifier classifier, int processors) {
        // every stream's threads: the cores the engines take when all of them run a pass
        int engineThreads = classifier.engineThreads() * classifier.streams();
        boolean ahead = decodeAhead(engineThreads, processors);
        int decoders = Math.max(1, classifier.decodeThreads());
        return new DecodePlacement(ahead, ahead ? Math.max(1, Math.min(decoders, processors - engineThreads)) : decoders);
    }

    /** The rule: decode beside the engine only when the engines' threads leave processors free. */
    public static boolean decodeAhead(int engineThreads, int processors) {
        String forced = System.getProperty(OVERRIDE);
        if (forced != null) {
            return Boolean.parseBoolean(forced);
        }
        return engineThreads > 0 && engineThreads < processors;
    }

    /** For reports: "N at once before each inference" or "N at once beside the engine". */
    public String describe() {
        return slots + " at once " + (ahead ? "beside the engine" : "before each inference");
    }
}
