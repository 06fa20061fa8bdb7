-- GCRA for one or more keys, all or nothing, on the server's clock (ratelimit's `redis` feature).
--
-- KEYS[i]   the keys
-- ARGV[1]   the cost n; 0 only looks (a snapshot) and writes nothing
-- ARGV[2i]  key i's emission interval T, in ns
-- ARGV[2i+1] key i's burst
--
-- A key holds its theoretical arrival time (TAT) as "<unix seconds> <nanoseconds>": two numbers, since
-- Lua's doubles hold integers exactly only up to 2^53 and Unix time in ns is near 2^61. Every
-- difference the script computes is at most a window (the caller keeps windows below 2^52 ns), so it
-- is exact. A key expires when it would be full again (PX = time until full): an idle key costs nothing.
--
-- Returns {allowed (1/0), remaining, retry_after_ns, reset_after_ns, first denying key (0: none)};
-- remaining is the least over the keys, reset_after the greatest, retry_after the greatest wait among
-- the keys that deny (for n = 0: among the keys that would deny one permit).

-- Before Redis 5 a script that reads TIME and writes must ask for effects replication; since 5 it is
-- the default and this call does nothing.
if redis.replicate_commands then redis.replicate_commands() end

local time = redis.call('TIME')
local now_s = tonumber(time[1])
local now_ns = tonumber(time[2]) * 1000
local n = tonumber(ARGV[1])
local probe = n
if probe == 0 then probe = 1 end

local ahead = {}
-- A key listed twice is charged twice: its second check sees the first one's charge.
local charged = {}
local deny_at, retry = 0, 0
for i = 1, #KEYS do
  local t = tonumber(ARGV[2 * i])
  local window = t * tonumber(ARGV[2 * i + 1])
  local a = charged[KEYS[i]]
  if a == nil then
    a = 0
    local tat = redis.call('GET', KEYS[i])
    if tat then
      local s, ns = string.match(tat, '^(%d+) (%d+)$')
      if s then
        a = (tonumber(s) - now_s) * 1000000000 + (tonumber(ns) - now_ns)
        if a < 0 then a = 0 end
      end
    end
  end
  if a > window then a = window end
  ahead[i] = a
  charged[KEYS[i]] = a + n * t
  local after = a + probe * t
  if after > window then
    if deny_at == 0 then deny_at = i end
    if after - window > retry then retry = after - window end
  end
end

local allowed = n > 0 and deny_at == 0
local remaining, reset = nil, 0
for i = 1, #KEYS do
  local t = tonumber(ARGV[2 * i])
  local window = t * tonumber(ARGV[2 * i + 1])
  local a = ahead[i]
  if allowed then
    a = a + n * t
    local total = now_ns + a
    local carry = math.floor(total / 1000000000)
    redis.call('SET', KEYS[i], string.format('%d %d', now_s + carry, total - carry * 1000000000),
      'PX', math.ceil(a / 1000000))
  end
  local left = math.floor((window - a) / t)
  if remaining == nil or left < remaining then remaining = left end
  if a > reset then reset = a end
end
if allowed then return {1, remaining, 0, reset, 0} end
return {0, remaining, retry, reset, deny_at}
