package dev.imgscale.daemon.wire;

/**
 * Where things live in the buckets; every key is derived from a job id and an image's name
 * within its job, never stored.
 * <ul>
 *   <li>input bucket: {@code input/<job>/<name>}: the image</li>
 *   <li>input bucket: {@code shards/<job>/<nnnnn>.tar}: images packed by {@code upload}, read by byte range</li>
 *   <li>output bucket: {@code results/<job>/<name>.json}: one image's result (version 1, still read);
 *       {@code results/<job>/<worker>-<start>-<seq>-n<images>-e<errors>-r<redelivered>.jsonl}: a batch of results, JSON Lines ({@link ResultBatch});
 *       {@code jobs/<job>/manifest.json}: the job; {@code jobs/<job>/names/<nnnnn>.jsonl}: its names;
 *       {@code jobs/<job>/summary.json}: its exact counts once read ({@link JobSummary})</li>
 * </ul>
 */
public final class Keys {
    public static final String INPUT = "input/";
    public static final String SHARDS = "shards/";
    public static final String RESULTS = "results/";
    public static final String JOBS = "jobs/";
    public static final String RESULT_SUFFIX = ".json";

    private Keys() {
    }

    public static String input(String job, String name) {
        return INPUT + job + "/" + name;
    }

    public static String inputPrefix(String job) {
        return INPUT + job + "/";
    }

    public static String result(String job, String name) {
        return RESULTS + job + "/" + name + RESULT_SUFFIX;
    }

    public static String resultPrefix(String job) {
        return RESULTS + job + "/";
    }

    /** The image name a result key stands for, or null if the key is not a result of that job. */
    public static String nameOfResult(String job, String key) {
        String prefix = resultPrefix(job);
        if (!key.startsWith(prefix) || !key.endsWith(RESULT_SUFFIX)) {
            return null;
        }
        return key.substring(prefix.length(), key.length() - RESULT_SUFFIX.length());
    }

    /** Page {@code page} of a version-2 job's names: JSON Lines, one JSON string per image. */
    public static String namePage(String job, int page) {
        return JOBS + job + "/names/" + String.format(java.util.Locale.ROOT, "%05d", page) + ".jsonl";
    }

    public static String shardPrefix(String job) {
        return SHARDS + job + "/";
    }

    /** A finished job's exact counts ({@link JobSummary}), when a reader wrote them. */
    public static String summary(String job) {
        return JOBS + job + "/summary.json";
    }

    public static String manifest(String job) {
        return JOBS + job + "/manifest.json";
    }

    /**
     * True for folder markers: keys ending in '/' that the S3 console writes for "folders" and that
     * S3Proxy's filesystem back end lists beside slashed keys. imgscale never writes one, and no
     * image is stored under one, so every listing skips them.
     */
    public static boolean isFolderMarker(String key) {
        return key.endsWith("/");
    }
}
