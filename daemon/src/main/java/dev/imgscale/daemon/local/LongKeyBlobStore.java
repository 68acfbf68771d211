package dev.imgscale.daemon.local;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.domain.Blob;
import org.jclouds.blobstore.domain.BlobAccess;
import org.jclouds.blobstore.domain.BlobMetadata;
import org.jclouds.blobstore.domain.MultipartPart;
import org.jclouds.blobstore.domain.MultipartUpload;
import org.jclouds.blobstore.domain.MutableStorageMetadata;
import org.jclouds.blobstore.domain.PageSet;
import org.jclouds.blobstore.domain.StorageMetadata;
import org.jclouds.blobstore.domain.internal.PageSetImpl;
import org.jclouds.blobstore.options.CopyOptions;
import org.jclouds.blobstore.options.GetOptions;
import org.jclouds.blobstore.options.ListContainerOptions;
import org.jclouds.blobstore.options.PutOptions;
import org.jclouds.blobstore.util.ForwardingBlobStore;
import org.jclouds.io.Payload;

/**
 * Lets the filesystem blob store hold keys whose path segments are longer than a file name may
 * be (255 bytes, less the temporary suffix jclouds appends): S3 takes any key of up to 1,024
 * UTF-8 bytes, and so must the local stack. A segment over {@value #CHUNK} bytes is stored as
 * several directories of at most {@value #CHUNK} bytes, each but the last ending in a marker
 * ({@code U+E000}; a marker in a key is stored doubled), and read back as the one segment. Keys
 * whose segments are all short (all keys imgscale wrote before) are stored exactly as before, so
 * an existing data folder reads the same.
 *
 * <p>The encoding keeps prefixes: the stored form of a prefix of a key is a prefix of the key's
 * stored form, so prefix listings and their markers work unchanged. Known limit: a listing with a
 * delimiter that falls inside a long segment shows that segment's first piece as a prefix.
 */
final class LongKeyBlobStore extends ForwardingBlobStore {
    static final int CHUNK = 200;
    static final char MARK = '\uE000';

    LongKeyBlobStore(BlobStore delegate) {
        super(delegate);
    }

    /** The stored form of a key (or of a prefix of one). */
    static String encode(String key) {
        if (key == null || utf8(key) <= CHUNK && key.indexOf(MARK) < 0) {
            return key; // the usual case, unchanged
        }
        String[] segments = key.split("/", -1);
        StringBuilder out = new StringBuilder();
        for (int s = 0; s < segments.length; s++) {
            if (s > 0) {
                out.append('/');
            }
            encodeSegment(segments[s], out);
        }
        return out.toString();
    }

    /** The key a stored name stands for. */
    static String decode(String stored) {
        if (stored == null || stored.indexOf(MARK) < 0) {
            return stored;
        }
        StringBuilder out = new StringBuilder();
        String[] segments = stored.split("/", -1);
        for (int s = 0; s < segments.length; s++) {
            boolean continues = decodeSegment(segments[s], out);
            if (!continues && s < segments.length - 1) {
                out.append('/');
            }
        }
        return out.toString();
    }

    /** True for the directory entries of a long segment's pieces (not objects, not S3 folders). */
    static boolean isPieceDirectory(String stored) {
        if (stored == null || !stored.endsWith("/")) {
            return false;
        }
        String dir = stored.substring(0, stored.length() - 1);
        String last = dir.substring(dir.lastIndexOf('/') + 1);
        return decodeSegment(last, new StringBuilder());
    }

    private static void encodeSegment(String segment, StringBuilder out) {
        List<String> tokens = new ArrayList<>();
        segment.codePoints().forEach(cp -> tokens.add(cp == MARK ? "" + MARK + MARK : new String(Character.toChars(cp))));
        int total = tokens.stream().mapToInt(LongKeyBlobStore::utf8).sum();
        if (total <= CHUNK) {
            tokens.forEach(out::append);
            return;
        }
        int bytes = 0;
        for (String token : tokens) {
            int len = utf8(token);
            if (bytes + len > CHUNK) {
                out.append(MARK).append('/');
                bytes = 0;
            }
            out.append(token);
            bytes += len;
        }
    }

    /** Appends the segment's text; true when it ends in the marker (the segment continues). */
    private static boolean decodeSegment(String segment, StringBuilder out) {
        for (int i = 0; i < segment.length(); i++) {
            char c = segment.charAt(i);
            if (c != MARK) {
                out.append(c);
            } else if (i + 1 < segment.length() && segment.charAt(i + 1) == MARK) {
                out.append(MARK);
                i++;
            } else if (i == segment.length() - 1) {
                return true;
            } else {
                out.append(c); // not a form we write; keep it
            }
        }
        return false;
    }

    private static int utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    private static <T extends StorageMetadata> T renamed(T metadata) {
        if (metadata instanceof MutableStorageMetadata m && m.getName() != null) {
            m.setName(decode(m.getName()));
        }
        return metadata;
    }

    private static Blob renamed(Blob blob) {
        if (blob != null) {
            renamed(blob.getMetadata());
        }
        return blob;
    }

    private static MultipartUpload down(MultipartUpload mpu) {
        return MultipartUpload.create(mpu.containerName(), encode(mpu.blobName()), mpu.id(), mpu.blobMetadata(), mpu.putOptions());
    }

    private static MultipartUpload up(MultipartUpload mpu) {
        return MultipartUpload.create(mpu.containerName(), decode(mpu.blobName()), mpu.id(), mpu.blobMetadata(), mpu.putOptions());
    }

    @Override
    public boolean blobExists(String container, String name) {
        return super.blobExists(container, encode(name));
    }

    @Override
    public String putBlob(String container, Blob blob) {
        blob.getMetadata().setName(encode(blob.getMetadata().getName()));
        return super.putBlob(container, blob);
    }

    @Override
    public String putBlob(String container, Blob blob, PutOptions options) {
        blob.getMetadata().setName(encode(blob.getMetadata().getName()));
        return super.putBlob(container, blob, options);
    }

    @Override
    public String copyBlob(String fromContainer, String fromName, String toContainer, String toName, CopyOptions options) {
        return super.copyBlob(fromContainer, encode(fromName), toContainer, encode(toName), options);
    }

    @Override
    public BlobMetadata blobMetadata(String container, String name) {
        BlobMetadata m = super.blobMetadata(container, encode(name));
        return m == null ? null : renamed(m);
    }

    @Override
    public Blob getBlob(String container, String name) {
        return renamed(super.getBlob(container, encode(name)));
    }

    @Override
    public Blob getBlob(String container, String name, GetOptions options) {
        return renamed(super.getBlob(container, encode(name), options));
    }

    @Override
    public void removeBlob(String container, String name) {
        super.removeBlob(container, encode(name));
    }

    @Override
    public void removeBlobs(String container, Iterable<String> names) {
        List<String> encoded = new ArrayList<>();
        names.forEach(n -> encoded.add(encode(n)));
        super.removeBlobs(container, encoded);
    }

    @Override
    public BlobAccess getBlobAccess(String container, String name) {
        return super.getBlobAccess(container, encode(name));
    }

    @Override
    public void setBlobAccess(String container, String name, BlobAccess access) {
        super.setBlobAccess(container, encode(name), access);
    }

    @Override
    public PageSet<? extends StorageMetadata> list(String container) {
        return list(container, ListContainerOptions.NONE);
    }

    @Override
    public PageSet<? extends StorageMetadata> list(String container, ListContainerOptions options) {
        ListContainerOptions down = options.clone();
        if (options.getPrefix() != null) {
            down.prefix(encode(options.getPrefix()));
        }
        if (options.getMarker() != null) {
            down.afterMarker(encode(options.getMarker()));
        }
        if (options.getDir() != null) {
            down.inDirectory(encode(options.getDir()));
        }
        PageSet<? extends StorageMetadata> page = super.list(container, down);
        List<StorageMetadata> out = new ArrayList<>();
        for (StorageMetadata m : page) {
            if (!isPieceDirectory(m.getName())) {
                out.add(renamed(m));
            }
        }
        return new PageSetImpl<>(out, decode(page.getNextMarker()));
    }

    @Override
    public MultipartUpload initiateMultipartUpload(String container, BlobMetadata metadata, PutOptions options) {
        if (metadata instanceof MutableStorageMetadata m) {
            m.setName(encode(m.getName()));
        }
        return up(super.initiateMultipartUpload(container, metadata, options));
    }

    @Override
    public void abortMultipartUpload(MultipartUpload mpu) {
        super.abortMultipartUpload(down(mpu));
    }

    @Override
    public String completeMultipartUpload(MultipartUpload mpu, List<MultipartPart> parts) {
        return super.completeMultipartUpload(down(mpu), parts);
    }

    @Override
    public MultipartPart uploadMultipartPart(MultipartUpload mpu, int partNumber, Payload payload) {
        return super.uploadMultipartPart(down(mpu), partNumber, payload);
    }

    @Override
    public List<MultipartPart> listMultipartUpload(MultipartUpload mpu) {
        return super.listMultipartUpload(down(mpu));
    }

    @Override
    public List<MultipartUpload> listMultipartUploads(String container) {
        List<MultipartUpload> out = new ArrayList<>();
        for (MultipartUpload mpu : super.listMultipartUploads(container)) {
            out.add(up(mpu));
        }
        return out;
    }

    @Override
    public java.io.InputStream streamBlob(String container, String name) {
        return super.streamBlob(container, encode(name));
    }
}
