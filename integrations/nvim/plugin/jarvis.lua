-- Commands: :JarvisAsk, :JarvisChat, :JarvisRemember, :JarvisForget, :JarvisList (see integrations/nvim/README.md).
if vim.g.loaded_jarvis then return end
vim.g.loaded_jarvis = true

local function selection(o)
  if o.range == 0 then return nil end
  return table.concat(vim.api.nvim_buf_get_lines(0, o.line1 - 1, o.line2, false), "\n")
end

vim.api.nvim_create_user_command("JarvisAsk", function(o)
  local jarvis = require("jarvis")
  local selected = selection(o)
  local function go(q)
    if (not q or q == "") and not selected then return end
    local question = q or ""
    if selected then question = selected .. (question ~= "" and ("\n\n" .. question) or "") end
    jarvis.ask(question)
  end
  if o.args ~= "" then go(o.args) else vim.ui.input({ prompt = "Ask Jarvis: " }, go) end
end, { nargs = "*", range = true, desc = "Ask Jarvis (with the selected lines, if any)" })

vim.api.nvim_create_user_command("JarvisChat", function(o)
  local function go(q)
    if q and q ~= "" then require("jarvis").chat(q) end
  end
  if o.args ~= "" then go(o.args) else vim.ui.input({ prompt = "Jarvis chat: " }, go) end
end, { nargs = "*", desc = "Ask the next turn of this Neovim's chat session (g:jarvis_session)" })

vim.api.nvim_create_user_command("JarvisRemember", function(o)
  local text = selection(o) or table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
  require("jarvis").remember(text, o.args ~= "" and o.args or nil)
end, { nargs = "?", range = true, desc = "Remember the buffer or the selected lines, with an optional name" })

vim.api.nvim_create_user_command("JarvisForget", function(o)
  require("jarvis").forget(o.args)
end, {
  nargs = 1,
  complete = function(lead) return require("jarvis").complete_entries(lead) end,
  desc = "Forget an entry by id or name",
})

vim.api.nvim_create_user_command("JarvisList", function() require("jarvis").list() end,
  { nargs = 0, desc = "List what Jarvis remembers" })
