package dev.imgscale.daemon.wire;

import java.util.regex.Pattern;

/**
 * {@code s3://BUCKET/KEY-OR-PREFIX}, as the AWS CLI writes it: the key is taken as written (not
 * percent-decoded), and may be empty (the whole bucket).
 */
public record S3Url(String bucket, String key) {
    public static final String PREFIX = "s3://";
    // general purpose bucket names: 3-63 of lower-case letters, digits, dots and hyphens
    private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");

    public static boolean isS3Url(String s) {
        return s != null && s.regionMatches(true, 0, PREFIX, 0, PREFIX.length());
    }

    /**
     * Parses an {@code s3://} URL.
     *
     * @throws IllegalArgumentException in one sentence that says what is wrong with it
     */
    public static S3Url parse(String url) {
        if (!isS3Url(url)) {
            throw new IllegalArgumentException("'" + url + "' is not an s3:// URL (write s3://BUCKET/PREFIX/).");
        }
        String rest = url.substring(PREFIX.length());
        int slash = rest.indexOf('/');
        String bucket = slash < 0 ? rest : rest.substring(0, slash);
        String key = slash < 0 ? "" : rest.substring(slash + 1);
        checkBucket(bucket);
        if (ImageNames.utf8Length(key) > 1024) {
            throw new IllegalArgumentException("The key in '" + abbreviate(url) + "' is longer than S3's 1,024 bytes.");
        }
        return new S3Url(bucket, key);
    }

    /** @throws IllegalArgumentException (one sentence) when {@code bucket} is not an S3 bucket name */
    public static void checkBucket(String bucket) {
        if (!BUCKET.matcher(bucket).matches() || bucket.contains("..")) {
            throw new IllegalArgumentException("'" + bucket + "' is not an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens).");
        }
    }

    /** The object this URL names. */
    public ObjectRef object() {
        return new ObjectRef(bucket, key);
    }

    @Override
    public String toString() {
        return PREFIX + bucket + "/" + key;
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
