package dev.imgscale.daemon.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class WorkRequestTest {
    @Test
    void should_read_a_version_1_request_as_written_today() {
        String old = Json.write(ImageRequest.of("20261205-120000-abcdef", "cat.jpg", 42));
        assertEquals("{\"v\":1,\"job\":\"20261205-120000-abcdef\",\"name\":\"cat.jpg\",\"sentAt\":42}", old, "the version 1 form is unchanged");
        assertEquals(new WorkRequest("20261205-120000-abcdef", "cat.jpg", 42, null, ImageLocation.UPLOADED), WorkRequest.parse(old));
    }

    @Test
    void should_write_an_uploaded_image_as_version_1_so_that_older_workers_read_it() {
        String body = new WorkRequest("j", "a.jpg", 7, null, ImageLocation.UPLOADED).toJson();
        ImageRequest r = Json.read(body, ImageRequest.class);
        assertEquals(ImageRequest.VERSION, r.v());
        assertEquals("a.jpg", r.name());
    }

    @Test
    void should_round_trip_images_in_place_and_in_shards() {
        WorkRequest inPlace = new WorkRequest("j", "2024/cat.jpg", 7, "s3://photos/2024/cat.jpg",
                new ImageLocation.InPlace(new ObjectRef("photos", "2024/cat.jpg")));
        assertTrue(inPlace.toJson().contains("\"v\":2"), inPlace.toJson());
        assertEquals(inPlace, WorkRequest.parse(inPlace.toJson()));
        WorkRequest inShard = new WorkRequest("j", "ü/long name.jpg", 7, "/home/me/ü/long name.jpg",
                new ImageLocation.InShard("shards/j/00003.tar", 1536, 81234));
        assertEquals(inShard, WorkRequest.parse(inShard.toJson()));
        WorkRequest uploadedWithSource = new WorkRequest("j", "a.jpg", 7, "/home/me/a.jpg", ImageLocation.UPLOADED);
        assertEquals(uploadedWithSource, WorkRequest.parse(uploadedWithSource.toJson()));
    }

    @Test
    void should_refuse_what_it_cannot_read_in_one_sentence() {
        Json.MalformedRecordException later = assertThrows(Json.MalformedRecordException.class,
                () -> WorkRequest.parse("{\"v\":3,\"job\":\"j\",\"name\":\"n\"}"));
        assertTrue(later.getMessage().contains("version 3"), later.getMessage());
        assertThrows(Json.MalformedRecordException.class, () -> WorkRequest.parse("{\"v\":2,\"job\":\"j\"}"));
        assertThrows(Json.MalformedRecordException.class, () -> WorkRequest.parse("[1]"));
        assertThrows(Json.MalformedRecordException.class, () -> WorkRequest.parse("{\"v\":2,\"job\":\"j\",\"name\":\"n\","
                + "\"object\":{\"bucket\":\"b\",\"key\":\"k\"},\"shard\":{\"key\":\"s\",\"offset\":0,\"length\":1}}"));
        assertThrows(Json.MalformedRecordException.class, () -> WorkRequest.parse("{\"v\":2,\"job\":\"j\",\"name\":\"n\","
                + "\"shard\":{\"key\":\"s\",\"offset\":-1,\"length\":1}}"));
        assertThrows(Json.MalformedRecordException.class, () -> WorkRequest.parse("{\"v\":2,\"job\":\"j\",\"name\":\"n\","
                + "\"object\":{\"bucket\":\"Not_A_Bucket\",\"key\":\"k\"}}"));
    }

    @Test
    void should_parse_s3_urls_and_say_what_is_wrong_with_bad_ones() {
        assertEquals(new S3Url("photos", "2024/"), S3Url.parse("s3://photos/2024/"));
        assertEquals(new S3Url("photos", ""), S3Url.parse("s3://photos"));
        assertEquals(new ObjectRef("my.bucket-1", "a b/ü.jpg"), S3Url.parse("S3://my.bucket-1/a b/ü.jpg").object());
        assertThrows(IllegalArgumentException.class, () -> S3Url.parse("https://photos/x"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> S3Url.parse("s3://Photos/x"));
        assertTrue(e.getMessage().contains("bucket name"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> S3Url.parse("s3://b/" + "x".repeat(1025)));
        assertThrows(IllegalArgumentException.class, () -> S3Url.parse("s3://photos/").object());
    }

    @Test
    void should_take_image_extensions_in_any_case() {
        assertTrue(ImageExtensions.matches("a/b/C.JPG"));
        assertTrue(ImageExtensions.matches("x.webp"));
        assertEquals(false, ImageExtensions.matches("notes.txt"));
        assertEquals(false, ImageExtensions.matches("dir.jpg/file"));
        assertEquals(false, ImageExtensions.matches(".jpg"));
    }
}
