package dev.imgscale.daemon.worker.stage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.wire.ImageLocation;
import dev.imgscale.daemon.wire.ImageRequest;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.ObjectRef;
import dev.imgscale.daemon.wire.WorkRequest;
import org.junit.jupiter.api.Test;

class RequestParserTest {
    static final String JOB = "20260101-000000-abcd";

    @Test
    void should_read_a_request() {
        ImageRequest r = ImageRequest.of(JOB, "dir/cat.jpg", 42);
        assertEquals(new RequestParser.Valid(new WorkRequest(JOB, "dir/cat.jpg", 42, null, ImageLocation.UPLOADED)),
                RequestParser.parse(Json.write(r)));
    }

    @Test
    void should_read_a_request_for_an_image_in_place() {
        WorkRequest r = new WorkRequest(JOB, "2024/cat.jpg", 7, "s3://photos/2024/cat.jpg",
                new ImageLocation.InPlace(new ObjectRef("photos", "2024/cat.jpg")));
        assertEquals(new RequestParser.Valid(r), RequestParser.parse(r.toJson()));
        RequestParser.Malformed bad = assertInstanceOf(RequestParser.Malformed.class,
                RequestParser.parse("{\"v\":2,\"job\":\"" + JOB + "\",\"name\":\"a.jpg\",\"sentAt\":1,\"object\":{\"bucket\":\"Bad_Bucket\",\"key\":\"a.jpg\"}}"));
        assertTrue(bad.reason().startsWith("not a valid image request: "), bad.reason());
    }

    @Test
    void should_answer_a_request_of_a_known_job_and_image_that_is_otherwise_unreadable() {
        RequestParser.Parsed p = RequestParser.parse("{\"v\":1,\"job\":\"" + JOB + "\",\"name\":\"odd.jpg\",\"sentAt\":\"yesterday\"}");
        RequestParser.Malformed m = assertInstanceOf(RequestParser.Malformed.class, p);
        assertEquals(JOB, m.job());
        assertEquals("odd.jpg", m.name());

        RequestParser.Malformed v = assertInstanceOf(RequestParser.Malformed.class,
                RequestParser.parse("{\"v\":3,\"job\":\"" + JOB + "\",\"name\":\"a.jpg\",\"sentAt\":1}"));
        assertEquals("not a valid image request: request version 3 (this worker reads versions 1 and 2; upgrade it)", v.reason());
    }

    @Test
    void should_leave_what_is_not_an_imgscale_request_or_would_make_a_key_outside_its_job() {
        assertInstanceOf(RequestParser.Foreign.class, RequestParser.parse("this is not a request"));
        assertInstanceOf(RequestParser.Foreign.class, RequestParser.parse("{\"v\":1,\"job\":\"../etc\",\"name\":\"a.jpg\",\"sentAt\":1}"));
        RequestParser.Foreign f = assertInstanceOf(RequestParser.Foreign.class,
                RequestParser.parse("{\"v\":1,\"job\":\"" + JOB + "\",\"name\":\"../../x\",\"sentAt\":1}"));
        assertTrue(f.reason().contains("cannot be used in a key"), f.reason());
        assertInstanceOf(RequestParser.Foreign.class, RequestParser.parse("{\"v\":1,\"job\":\"" + JOB + "\",\"name\":\"\",\"sentAt\":1}"));
    }
}
