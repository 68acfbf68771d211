package dev.imgscale.daemon.shard;

import java.util.List;

/** A stored shard: its key, its size in bytes and its members in order. */
public record Shard(String key, long size, List<ShardMember> members) {
    public Shard {
        members = List.copyOf(members);
    }
}
