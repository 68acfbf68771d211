package dev.imgscale.daemon.web;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imgscale.daemon.wire.ImageNames;
import dev.imgscale.daemon.wire.ResultRecord;
import dev.imgscale.daemon.port.QueueDepth;
import dev.imgscale.daemon.client.JobProgress;

/** The JSON the API and the event stream send. Result records go out as they are stored, plus a short name. */
final class WebJson {
    static final ObjectMapper MAPPER = new ObjectMapper().setSerializationInclusion(JsonInclude.Include.NON_NULL);

    private WebJson() {
    }

    /** The record as stored, with {@code short}: the name's last segment without extension, as the course tools print it. */
    static ObjectNode result(ResultRecord r) {
        ObjectNode node = MAPPER.valueToTree(r);
        node.put("short", ImageNames.shortName(r.name()));
        return node;
    }

    static ObjectNode progress(JobProgress p, boolean open) {
        ObjectNode node = MAPPER.createObjectNode();
        node.put("job", p.job()).put("total", p.total()).put("done", p.done()).put("failed", p.failed())
                .put("complete", p.complete()).put("open", open);
        return node;
    }

    static ObjectNode depth(QueueDepth d) {
        return MAPPER.createObjectNode().put("visible", d.visible()).put("inFlight", d.inFlight()).put("delayed", d.delayed());
    }
}
