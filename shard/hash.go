// Package shard splits a planning job by subscriber: which shard a user
// belongs to (a stable hash of user_id, the same in Go and in DuckDB SQL),
// which shard this process is (the --shard flag or the environment of the
// engine that started it), and the quota of stock each shard may use in
// run mode.
//
// The hash is part of the product's contract: shards planned by different
// versions of assign, or a shard filter written by hand in SQL or another
// language, must agree on it. It is written out in the README.
package shard

// HashName names the hash in part manifests, so a merge refuses parts split
// by a different rule.
const HashName = "fmix32-fold64-v1"

// Hash is the shard hash of a user id:
//
//	u = user_id as an unsigned 64-bit integer (two's complement)
//	h = (u mod 2^32) xor (u div 2^32)          fold to 32 bits
//	h = h xor (h >> 16)
//	h = (h * 0x85EBCA6B) mod 2^32
//	h = h xor (h >> 13)
//	h = (h * 0xC2B2AE35) mod 2^32
//	h = h xor (h >> 16)
//
// The last five lines are MurmurHash3's 32-bit finaliser (fmix32), a
// bijection of 32-bit integers that spreads consecutive ids evenly.
func Hash(userID int64) uint32 {
	u := uint64(userID)
	h := uint32(u) ^ uint32(u>>32)
	h ^= h >> 16
	h *= 0x85EBCA6B
	h ^= h >> 13
	h *= 0xC2B2AE35
	h ^= h >> 16
	return h
}

// Of returns the shard, 0..n-1, that plans user userID when the job is split
// in n shards: Hash(user_id) mod n.
func Of(userID int64, n int) int {
	return int(Hash(userID) % uint32(n))
}

// SQLMacros defines, in a DuckDB connection, the macros
// assign_user_hash(user_id) (Hash) and assign_shard(user_id, n) (Of) as
// temporary macros. Multiplications run in UBIGINT, where the product of two
// values below 2^32 cannot overflow.
const SQLMacros = `
CREATE OR REPLACE TEMP MACRO assign_fold32(x) AS xor((x & 4294967295)::UBIGINT, ((x >> 32) & 4294967295)::UBIGINT);
CREATE OR REPLACE TEMP MACRO assign_xorshift(h, s) AS xor(h, h >> s);
CREATE OR REPLACE TEMP MACRO assign_mul32(h, m) AS (h * m::UBIGINT) % 4294967296;
CREATE OR REPLACE TEMP MACRO assign_user_hash(x) AS
    assign_xorshift(assign_mul32(assign_xorshift(assign_mul32(assign_xorshift(assign_fold32(x::BIGINT), 16), 2246822507), 13), 3266489909), 16);
CREATE OR REPLACE TEMP MACRO assign_shard(x, n) AS (assign_user_hash(x) % n::UBIGINT)::INTEGER;
`
