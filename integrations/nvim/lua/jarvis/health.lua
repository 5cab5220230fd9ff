-- :checkhealth jarvis — is the socket there, does jarvisd answer, which protocol.
local M = {}

-- Neovim 0.10 has vim.health.start/ok/…; 0.7–0.9 have require("health").report_*.
local h = vim.health or require("health")
local start = h.start or h.report_start
local ok = h.ok or h.report_ok
local warn = h.warn or h.report_warn
local err = h.error or h.report_error
local info = h.info or h.report_info

function M.check()
  local client = require("jarvis.client")
  start("jarvis")
  local path = client.socket_path()
  if not (vim.uv or vim.loop).fs_stat(path) then
    err("no socket at " .. path, { "start jarvisd: systemctl --user enable --now jarvisd.socket",
      "or set g:jarvis_socket / $JARVIS_SOCKET to where it listens" })
    return
  end
  ok("socket " .. path)
  local status, failure = client.request_sync("status", {}, 5000)
  if not status then
    err("jarvisd does not answer: " .. tostring(failure))
    return
  end
  local hello = client.request_sync("hello", { protocol = client.PROTOCOL, client = "jarvis.nvim" }, 5000)
  if hello then
    ok(("jarvisd answers: %s, protocol %d (this plugin speaks %d)"):format(hello.server, hello.protocol, client.PROTOCOL))
    info("model: " .. hello.model)
  end
  info(("entries: %d, queue: %d"):format(status.entries, status.queue_depth))
  if status.entries == 0 then warn("nothing remembered yet: try :JarvisRemember") end
end

return M
