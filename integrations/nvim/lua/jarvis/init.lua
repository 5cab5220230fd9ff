-- Jarvis in Neovim: ask (streaming into a scratch split), remember, forget and list, speaking
-- the protocol to jarvisd's socket directly. See :help jarvis (README in integrations/nvim).
local client = require("jarvis.client")

local M = {}

local function notify(message, level)
  vim.notify("jarvis: " .. message, level or vim.log.levels.INFO)
end

local function scratch(name)
  vim.cmd("botright new")
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = "markdown"
  pcall(vim.api.nvim_buf_set_name, buf, name)
  return buf
end

--- Appends `text` to the end of `buf`, continuing its last line.
local function append(buf, text)
  if not vim.api.nvim_buf_is_valid(buf) then return end
  local last = vim.api.nvim_buf_line_count(buf)
  local tail = vim.api.nvim_buf_get_lines(buf, last - 1, last, false)[1] or ""
  local lines = vim.split(tail .. text, "\n", { plain = true })
  vim.api.nvim_buf_set_lines(buf, last - 1, last, false, lines)
end

--- Runs one request after the hello handshake, on a fresh connection.
local function with_connection(op, args, handlers)
  client.connect(function(c, err)
    if not c then
      if handlers.on_error then handlers.on_error({ code = "not_running", message = err }) end
      return
    end
    c:request("hello", { protocol = client.PROTOCOL, client = "jarvis.nvim" }, {
      on_done = function()
        local wrap = {
          on_event = handlers.on_event,
          on_done = function(r) c:close(); if handlers.on_done then handlers.on_done(r) end end,
          on_error = function(e) c:close(); if handlers.on_error then handlers.on_error(e) end end,
        }
        local id = c:request(op, args, wrap)
        if handlers.on_started then handlers.on_started(c, id) end
      end,
      on_error = function(e) c:close(); if handlers.on_error then handlers.on_error(e) end end,
    })
  end)
end

--- Asks `question`; the answer streams into a scratch split. Closing the split cancels it.
function M.ask(question, opts)
  opts = opts or {}
  local buf = scratch("jarvis://answer")
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { "> " .. question:gsub("\n", " "), "", "" })
  local args = { question = question, mode = opts.mode, max_tokens = opts.max_tokens }
  with_connection("ask", args, {
    on_started = function(c, id)
      vim.api.nvim_create_autocmd("BufWipeout", { buffer = buf, once = true, callback = function() c:cancel(id) end })
    end,
    on_event = function(reply)
      if reply.event == "token" then append(buf, reply.text) end
    end,
    on_done = function(r)
      local used = {}
      for _, e in ipairs(r.entries or {}) do used[#used + 1] = tostring(e) end
      append(buf, ("\n\n-- done: %d tokens, first after %.0f ms, from entries: %s"):format(
        r.tokens or 0, r.ttft_ms or 0, #used > 0 and table.concat(used, ", ") or "none"))
      M.last_answer = r.answer
    end,
    on_error = function(e)
      append(buf, ("\n\n-- jarvis: %s (%s)"):format(e.message, e.code))
      M.last_error = e
    end,
  })
  return buf
end

--- The chat session `:JarvisChat` continues: `g:jarvis_session`, else one per Neovim process.
function M.session()
  return vim.g.jarvis_session or ("nvim-" .. vim.fn.getpid())
end

--- Asks `question` as the next turn of the chat session (see `M.session`); the turn and its
--- answer stream into the session's buffer, jarvis://chat/NAME, opened in a split if it is not
--- shown. Closing the buffer cancels an answer being written.
function M.chat(question)
  local session = M.session()
  local name = "jarvis://chat/" .. session
  local buf = vim.fn.bufnr(name)
  if buf == -1 or not vim.api.nvim_buf_is_valid(buf) then
    buf = scratch(name)
    vim.bo[buf].bufhidden = "hide"
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, { "-- session " .. session })
  elseif vim.fn.bufwinid(buf) == -1 then
    vim.cmd("botright sbuffer " .. buf)
  end
  append(buf, "\n\n> " .. question:gsub("\n", " ") .. "\n")
  with_connection("ask", { question = question, session = session }, {
    on_started = function(c, id)
      vim.api.nvim_create_autocmd("BufWipeout", { buffer = buf, once = true, callback = function() c:cancel(id) end })
    end,
    on_event = function(reply)
      if reply.event == "token" then append(buf, reply.text) end
    end,
    on_done = function(r) M.last_chat = r end,
    on_error = function(e)
      append(buf, ("\n-- jarvis: %s (%s)"):format(e.message, e.code))
      M.last_error = e
    end,
  })
  return buf
end

--- Remembers `text` (with an optional name).
function M.remember(text, name, on_done)
  with_connection("remember", { text = text, name = name }, {
    on_done = function(r)
      local ids = {}
      for _, e in ipairs(r.entries or {}) do ids[#ids + 1] = tostring(e.id) end
      notify("remembered " .. table.concat(ids, ", ") .. (name and (' "' .. name .. '"') or ""))
      M.last_remembered = r.entries
      if on_done then on_done(r) end
    end,
    on_error = function(e) notify(e.message .. " (" .. e.code .. ")", vim.log.levels.ERROR) end,
  })
end

function M.forget(entry, on_done)
  with_connection("forget", { entry = entry }, {
    on_done = function(r)
      local e = r.entry
      notify("forgot " .. e.id .. (e.name ~= vim.NIL and e.name and (' "' .. e.name .. '"') or ""))
      M.last_forgotten = e
      if on_done then on_done(e) end
    end,
    on_error = function(e) notify(e.message .. " (" .. e.code .. ")", vim.log.levels.ERROR) end,
  })
end

--- Lists the entries in a scratch split.
function M.list()
  with_connection("list", {}, {
    on_done = function(r)
      local entries = r.entries
      local buf = scratch("jarvis://entries")
      local lines = { "ID     NAME                 KIND   TEXT" }
      for _, e in ipairs(entries) do
        local name = (e.name ~= vim.NIL and e.name) or "-"
        local text = e.text:gsub("\n", " "):gsub("^%- ", "")
        lines[#lines + 1] = ("%-6s %-20s %-6s %s"):format(e.id, name, e.kind, text)
      end
      if #entries == 0 then lines[#lines + 1] = "(nothing remembered yet)" end
      vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
    end,
    on_error = function(e) notify(e.message .. " (" .. e.code .. ")", vim.log.levels.ERROR) end,
  })
end

--- Entry names, aliases and ids starting with `lead` (asks jarvisd; empty if it is not running).
function M.complete_entries(lead)
  local r = client.request_sync("list", {}, 2000)
  local out = {}
  for _, e in ipairs(r and r.entries or {}) do
    local candidates = { tostring(e.id) }
    if e.name ~= vim.NIL and e.name then candidates[#candidates + 1] = e.name end
    for _, a in ipairs(e.aliases or {}) do candidates[#candidates + 1] = a end
    for _, c in ipairs(candidates) do
      if c:sub(1, #lead) == lead then out[#out + 1] = c end
    end
  end
  table.sort(out)
  return out
end

return M
