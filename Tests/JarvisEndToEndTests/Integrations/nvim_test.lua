-- Driven by IntegrationTests.testNeovimPlugin: headless Neovim, the plugin from
-- integrations/nvim, a real jarvisd at $JARVIS_SOCKET with an empty store. Prints "PASS" or
-- exits with status 1 and the reason on standard error.
local jarvis = require("jarvis")

local function fail(message)
  io.stderr:write("FAIL: " .. message .. "\n")
  vim.cmd("cquit 1")
end

local function wait_for(what, predicate)
  if not vim.wait(120000, predicate, 20) then fail("timed out waiting for " .. what) end
end

local function buffer_text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

-- :JarvisRemember with a name, from the buffer.
vim.api.nvim_buf_set_lines(0, 0, -1, false, { "My dog Rex is a black labrador with a red collar." })
vim.cmd("JarvisRemember Rex")
wait_for("remember", function() return jarvis.last_remembered ~= nil end)
if jarvis.last_remembered[1].name ~= "Rex" then fail("the entry is not named Rex") end

-- :JarvisRemember of a selection (line 2 only).
jarvis.last_remembered = nil
vim.api.nvim_buf_set_lines(0, 0, -1, false, { "This line is not remembered.", "My sister Anna lives in Lisbon." })
vim.cmd("2,2JarvisRemember")
wait_for("remember of a selection", function() return jarvis.last_remembered ~= nil end)
if not jarvis.last_remembered[1].text:find("Lisbon") or jarvis.last_remembered[1].text:find("not remembered") then
  fail("the selection was not what got remembered: " .. jarvis.last_remembered[1].text)
end

-- :JarvisAsk streams the answer into a scratch split.
local windows = #vim.api.nvim_list_wins()
vim.cmd("JarvisAsk What colour is Rex's collar?")
if #vim.api.nvim_list_wins() ~= windows + 1 then fail("no answer split opened") end
local answer_buf = vim.api.nvim_get_current_buf()
wait_for("the answer", function() return buffer_text(answer_buf):find("%-%- done") ~= nil end)
local text = buffer_text(answer_buf)
if not text:lower():find("red") then fail("the answer does not say red:\n" .. text) end
if not text:find("from entries: 1") then fail("the answer does not name entry 1:\n" .. text) end
io.stdout:write(text .. "\n")

-- :JarvisChat: two turns of one session, the second attending to the first.
vim.g.jarvis_session = "nvim-test"
vim.cmd("JarvisChat What colour is Rex's collar?")
wait_for("the first chat turn", function() return jarvis.last_chat ~= nil end)
if jarvis.last_chat.session ~= "nvim-test" or jarvis.last_chat.history_tokens ~= 0 then
  fail("the first turn is not the session's first: " .. vim.inspect(jarvis.last_chat))
end
jarvis.last_chat = nil
vim.cmd("JarvisChat And what breed is he?")
wait_for("the second chat turn", function() return jarvis.last_chat ~= nil end)
if not (jarvis.last_chat.history_tokens > 0) then fail("the second turn has no history: " .. vim.inspect(jarvis.last_chat)) end
local chat = buffer_text(vim.fn.bufnr("jarvis://chat/nvim-test"))
if not (chat:find("> What colour is Rex's collar%?") and chat:find("> And what breed is he%?")) then
  fail("the chat buffer misses a turn:\n" .. chat)
end
local sessions = require("jarvis.client").request_sync("sessions", {}, 5000)
if #sessions.sessions ~= 1 or sessions.sessions[1].turns ~= 2 then fail("sessions: " .. vim.inspect(sessions)) end

-- :JarvisList shows both entries.
vim.cmd("JarvisList")
wait_for("the list", function() return vim.api.nvim_buf_get_name(0):find("jarvis://entries") ~= nil end)
local list = buffer_text(0)
if not (list:find("Rex") and list:find("Lisbon")) then fail("the list misses an entry:\n" .. list) end

-- :JarvisForget completes entry names from the daemon, then forgets.
local completions = vim.fn.getcompletion("JarvisForget R", "cmdline")
if not vim.tbl_contains(completions, "Rex") then fail("no completion for Rex: " .. vim.inspect(completions)) end
vim.cmd("JarvisForget Rex")
wait_for("forget", function() return jarvis.last_forgotten ~= nil end)
local after = require("jarvis.client").request_sync("list", {}, 5000)
if #after.entries ~= 1 then fail("forget left " .. #after.entries .. " entries") end

-- :checkhealth jarvis reports the protocol.
vim.cmd("checkhealth jarvis")
local health = buffer_text(0)
if not health:find("protocol 1") then fail("checkhealth does not report the protocol:\n" .. health) end

io.stdout:write("PASS\n")
vim.cmd("qa!")
