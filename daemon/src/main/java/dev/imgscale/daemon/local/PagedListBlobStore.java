package dev.imgscale.daemon.local;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.LocalStorageStrategy;
import org.jclouds.blobstore.domain.BlobMetadata;
import org.jclouds.blobstore.domain.PageSet;
import org.jclouds.blobstore.domain.StorageMetadata;
import org.jclouds.blobstore.domain.internal.PageSetImpl;
import org.jclouds.blobstore.options.ListContainerOptions;
import org.jclouds.blobstore.util.ForwardingBlobStore;

/**
 * Lists a page of the local S3's objects reading the attributes of that page's objects only.
 * jclouds' own listing of its filesystem store loads the metadata of every object under the prefix
 * (an open and several extended-attribute reads each, about 0.12 ms), sorts them, and only then
 * cuts the page: paging through N objects cost N²/1000 loads, so listing a million images in place
 * would take hours and a job of 10,000 result objects 12 s per listing. Here the names alone are
 * listed and sorted (one directory walk), and only the page is loaded, as jclouds loads each: the
 * same objects, order, metadata and next marker. Listings by directory, with a delimiter or not
 * recursive (common prefixes) are rare here and stay jclouds' own.
 */
final class PagedListBlobStore extends ForwardingBlobStore {
    private static final int DEFAULT_PAGE = 1000; // jclouds' and S3's default

    private final LocalStorageStrategy storage;

    PagedListBlobStore(BlobStore delegate, LocalStorageStrategy storage) {
        super(delegate);
        this.storage = storage;
    }

    @Override
    public PageSet<? extends StorageMetadata> list(String container) {
        return list(container, ListContainerOptions.NONE);
    }

    @Override
    public PageSet<? extends StorageMetadata> list(String container, ListContainerOptions options) {
        if (options.getDir() != null || options.getDelimiter() != null || !options.isRecursive()
                || !storage.containerExists(container)) {
            return super.list(container, options); // and its error for a missing container
        }
        String prefix = options.getPrefix();
        String marker = options.getMarker();
        int max = options.getMaxResults() != null ? options.getMaxResults() : DEFAULT_PAGE;
        TreeSet<String> names = new TreeSet<>();
        try {
            for (String name : storage.getBlobKeysInsideContainer(container, prefix, null)) {
                if ((prefix == null || name.startsWith(prefix)) && (marker == null || name.compareTo(marker) > 0)) {
                    names.add(name);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Listing " + container + " failed", e);
        }
        List<StorageMetadata> page = new ArrayList<>();
        String next = null;
        for (String name : names) {
            if (!storage.blobExists(container, name)) {
                continue; // a directory of the store, not an object
            }
            if (page.size() == max) {
                next = max == 0 ? null : page.get(page.size() - 1).getName(); // more follow
                break;
            }
            BlobMetadata metadata = super.blobMetadata(container, name);
            if (metadata == null) {
                continue; // removed since the walk
            }
            if (!options.isDetailed()) {
                metadata.getUserMetadata().clear();
            }
            page.add(metadata);
        }
        return new PageSetImpl<>(page, next);
    }
}
