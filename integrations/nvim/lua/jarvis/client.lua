-- The Jarvis protocol over jarvisd's Unix socket, on Neovim's own event loop (libuv pipes).
-- Frames: a 4-byte big-endian length, then that many bytes of JSON (Protocol/PROTOCOL.md).
local uv = vim.uv or vim.loop

local M = {}

local PROTOCOL = 1

local uid_cache
local function uid()
  if not uid_cache then
    uid_cache = (uv.getuid and uv.getuid()) or tonumber(vim.fn.trim(vim.fn.system({ "id", "-u" })))
  end
  return uid_cache
end

--- jarvisd's socket: g:jarvis_socket, $JARVIS_SOCKET, $XDG_RUNTIME_DIR/jarvis/jarvisd.sock,
--- /run/user/UID/jarvis/jarvisd.sock, else /tmp/jarvis-UID/jarvisd.sock (as jarvisctl does).
function M.socket_path()
  local s = vim.g.jarvis_socket or os.getenv("JARVIS_SOCKET")
  if s and s ~= "" then return s end
  local rt = os.getenv("XDG_RUNTIME_DIR")
  if rt and rt ~= "" then return rt .. "/jarvis/jarvisd.sock" end
  local run = "/run/user/" .. uid()
  if uv.fs_stat(run) then return run .. "/jarvis/jarvisd.sock" end
  return "/tmp/jarvis-" .. uid() .. "/jarvisd.sock"
end

local function frame(payload)
  local n = #payload
  return string.char(bit.band(bit.rshift(n, 24), 255), bit.band(bit.rshift(n, 16), 255),
    bit.band(bit.rshift(n, 8), 255), bit.band(n, 255)) .. payload
end

local Client = {}
Client.__index = Client

--- Connects; `on_ready(client)` or `on_ready(nil, message)` runs on the main loop.
function M.connect(on_ready, path)
  path = path or M.socket_path()
  local pipe = uv.new_pipe(false)
  local c = setmetatable({ pipe = pipe, buffer = "", next_id = 1, pending = {}, closed = false, path = path }, Client)
  pipe:connect(path, function(err)
    if err then
      pipe:close()
      vim.schedule(function()
        on_ready(nil, ("jarvisd is not running (%s: %s). Start it with `systemctl --user start jarvisd.socket`."):format(path, err))
      end)
      return
    end
    pipe:read_start(function(rerr, data) c:_on_read(rerr, data) end)
    vim.schedule(function() on_ready(c) end)
  end)
end

--- Sends a request. handlers: on_event(reply) for token/progress, on_done(result),
--- on_error({code=, message=}). Returns the request id.
function Client:request(op, args, handlers)
  if self.closed then
    vim.schedule(function() handlers.on_error({ code = "disconnected", message = "the connection to jarvisd is closed" }) end)
    return nil
  end
  local id = self.next_id
  self.next_id = id + 1
  local message = vim.tbl_extend("force", args or {}, { id = id, op = op })
  self.pending[id] = handlers
  self.pipe:write(frame(vim.json.encode(message)))
  return id
end

function Client:cancel(id)
  if id and self.pending[id] then self:request("cancel", { target = id }, { on_done = function() end, on_error = function() end }) end
end

function Client:close()
  if not self.closed then
    self.closed = true
    self.pipe:read_stop()
    self.pipe:close()
  end
end

function Client:_on_read(err, data)
  if err or not data then
    self.closed = true
    pcall(function() self.pipe:close() end)
    vim.schedule(function()
      for id, h in pairs(self.pending) do
        self.pending[id] = nil
        if h.on_error then h.on_error({ code = "disconnected", message = "jarvisd closed the connection" }) end
      end
    end)
    return
  end
  self.buffer = self.buffer .. data
  while #self.buffer >= 4 do
    local b1, b2, b3, b4 = self.buffer:byte(1, 4)
    local n = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
    if #self.buffer < 4 + n then break end
    local payload = self.buffer:sub(5, 4 + n)
    self.buffer = self.buffer:sub(5 + n)
    -- Replies are handled on the main loop, in arrival order.
    vim.schedule(function() self:_dispatch(payload) end)
  end
end

function Client:_dispatch(payload)
  local ok, reply = pcall(vim.json.decode, payload)
  if not ok or type(reply) ~= "table" then return end
  local id = reply.id
  if id == vim.NIL or id == nil then
    -- About the connection itself (refused, broken framing): fail everything.
    for pid, h in pairs(self.pending) do
      self.pending[pid] = nil
      if h.on_error then h.on_error(reply.error or { code = "internal", message = "connection error" }) end
    end
    return
  end
  local h = self.pending[id]
  if not h then return end
  if reply.event == "done" then
    self.pending[id] = nil
    if h.on_done then h.on_done(reply.result) end
  elseif reply.event == "error" then
    self.pending[id] = nil
    if h.on_error then h.on_error(reply.error) end
  elseif h.on_event then
    h.on_event(reply)
  end
end

--- One request on a new connection, waiting for its result (for completion and health).
--- Returns result, or nil and an error message.
function M.request_sync(op, args, timeout_ms, path)
  local result, failure, finished = nil, nil, false
  M.connect(function(c, err)
    if not c then failure, finished = err, true; return end
    c:request("hello", { protocol = PROTOCOL, client = "jarvis.nvim" }, {
      on_done = function()
        c:request(op, args, {
          on_done = function(r) result, finished = r, true; c:close() end,
          on_error = function(e) failure, finished = e.code .. ": " .. e.message, true; c:close() end,
        })
      end,
      on_error = function(e) failure, finished = e.code .. ": " .. e.message, true; c:close() end,
    })
  end, path)
  if not vim.wait(timeout_ms or 5000, function() return finished end, 10) then
    return nil, "jarvisd did not answer within " .. (timeout_ms or 5000) .. " ms"
  end
  return result, failure
end

M.PROTOCOL = PROTOCOL
return M
