package dev.imgscale.daemon.stack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.imgscale.daemon.aws.AwsSettings;
import dev.imgscale.daemon.aws.AwsSettings.Service;
import dev.imgscale.daemon.testing.LoopbackHttpServer;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A tiny HTTP server on loopback that answers the few SSM calls imgscale makes (AWS JSON 1.1:
 * {@code X-Amz-Target: AmazonSSM.GetParametersByPath / PutParameter / DeleteParameters}) from an
 * in-memory map, and STS GetCallerIdentity (AWS query protocol, XML); it records every call. There
 * is no SSM emulator to embed, and the SDK's own client must still be the one under test.
 */
final class FakeAwsEndpoint implements AutoCloseable {

    /** One recorded call: the operation and its JSON body (or form body for STS). */
    record Call(String operation, JsonNode body, String rawBody) {
    }

    static final String ACCOUNT = "123456789012";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final LoopbackHttpServer server;
    /** The parameters, by full name, sorted as SSM returns them. */
    final Map<String, String> parameters = new TreeMap<>();
    final List<Call> calls = new CopyOnWriteArrayList<>();
    /** GetParametersByPath page size (SSM's is up to 10; smaller forces NextToken). */
    volatile int pageSize = 10;
    /** When set, every SSM call fails with this {@code __type} (400) and message. */
    volatile String failWith;
    /** When set, STS answers with this error code (403). */
    volatile String stsError;

    FakeAwsEndpoint() throws IOException {
        server = new LoopbackHttpServer(this::handle).start();
    }

    URI uri() {
        return server.uri();
    }

    /** Client settings that send SSM and STS here, with dummy static credentials. */
    AwsSettings settings() {
        return AwsSettings.forEndpoints("us-east-1", Map.of(Service.SSM, uri(), Service.STS, uri()),
                new AwsSettings.StaticCredentials("AKIDFAKE", "fake-secret", null));
    }

    List<Call> calls(String operation) {
        return calls.stream().filter(c -> c.operation().equals(operation)).toList();
    }

    @Override
    public void close() {
        server.close();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String body = LoopbackHttpServer.body(exchange);
            String target = exchange.getRequestHeaders().getFirst("X-Amz-Target");
            if (target == null) {
                handleSts(exchange, body);
                return;
            }
            String operation = target.substring(target.indexOf('.') + 1);
            JsonNode request = JSON.readTree(body.isEmpty() ? "{}" : body);
            calls.add(new Call(operation, request, body));
            if (failWith != null) {
                reply(exchange, 400, JSON.createObjectNode().put("__type", failWith)
                        .put("message", "User: arn:aws:iam::" + ACCOUNT + ":user/test is not authorized to perform: ssm:"
                                + operation));
                return;
            }
            switch (operation) {
                case "GetParametersByPath" -> reply(exchange, 200, page(request));
                case "PutParameter" -> reply(exchange, 200, put(request));
                case "DeleteParameters" -> deleteParameters(exchange, request);
                default -> reply(exchange, 400, JSON.createObjectNode().put("__type", "InvalidAction")
                        .put("message", "not faked: " + operation));
            }
        }
    }

    private synchronized ObjectNode page(JsonNode request) {
        String prefix = request.path("Path").asText() + "/";
        List<String> names = parameters.keySet().stream().filter(n -> n.startsWith(prefix)).toList();
        int start = request.hasNonNull("NextToken") ? Integer.parseInt(request.get("NextToken").asText()) : 0;
        int size = Math.min(pageSize, request.path("MaxResults").asInt(10));
        int end = Math.min(names.size(), start + size);
        ObjectNode response = JSON.createObjectNode();
        ArrayNode list = response.putArray("Parameters");
        for (String name : names.subList(start, end)) {
            list.addObject().put("Name", name).put("Value", parameters.get(name)).put("Type", "String").put("Version", 1);
        }
        if (end < names.size()) {
            response.put("NextToken", Integer.toString(end));
        }
        return response;
    }

    private synchronized ObjectNode put(JsonNode request) {
        parameters.put(request.get("Name").asText(), request.get("Value").asText());
        return JSON.createObjectNode().put("Version", 1).put("Tier", "Standard");
    }

    private synchronized void deleteParameters(HttpExchange exchange, JsonNode request) throws IOException {
        if (request.path("Names").size() > 10) {
            reply(exchange, 400, JSON.createObjectNode().put("__type", "ValidationException")
                    .put("message", "Member must have length less than or equal to 10"));
            return;
        }
        ObjectNode response = JSON.createObjectNode();
        ArrayNode deleted = response.putArray("DeletedParameters");
        ArrayNode invalid = response.putArray("InvalidParameters");
        for (JsonNode name : request.path("Names")) {
            (parameters.remove(name.asText()) != null ? deleted : invalid).add(name.asText());
        }
        reply(exchange, 200, response);
    }

    private void handleSts(HttpExchange exchange, String body) throws IOException {
        calls.add(new Call(body.contains("Action=GetCallerIdentity") ? "GetCallerIdentity" : body, null, body));
        String xml;
        int status;
        if (stsError != null) {
            status = 403;
            xml = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
                    + "<Code>" + stsError + "</Code><Message>The security token included in the request is invalid.</Message>"
                    + "</Error><RequestId>fake</RequestId></ErrorResponse>";
        } else {
            status = 200;
            xml = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>"
                    + "<Arn>arn:aws:iam::" + ACCOUNT + ":user/test</Arn><UserId>AIDAFAKE</UserId><Account>" + ACCOUNT
                    + "</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>fake</RequestId>"
                    + "</ResponseMetadata></GetCallerIdentityResponse>";
        }
        LoopbackHttpServer.reply(exchange, status, "text/xml", xml.getBytes(StandardCharsets.UTF_8));
    }

    private static void reply(HttpExchange exchange, int status, ObjectNode json) throws IOException {
        LoopbackHttpServer.reply(exchange, status, "application/x-amz-json-1.1", JSON.writeValueAsBytes(json));
    }

    /** All calls, one per line, for failure messages. */
    String transcript() {
        List<String> lines = new ArrayList<>();
        for (Call c : calls) {
            lines.add(c.operation() + " " + c.rawBody());
        }
        return String.join("\n", lines);
    }
}
