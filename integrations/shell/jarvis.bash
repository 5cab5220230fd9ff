# Jarvis for bash. Source it from ~/.bashrc:
#   source ~/.local/share/jarvis/integrations/shell/jarvis.bash
# Ctrl-X j sends the command line as a question; the answer prints above the prompt and the
# line stays as it was. Also loads jarvisctl's completion (entry names come from jarvisd).

__jarvis_ask_line() {
  local question=$READLINE_LINE
  [[ -z ${question//[[:space:]]/} ]] && return 0
  printf '\n'
  jarvisctl ask -- "$question"
}

if [[ $- == *i* ]]; then
  bind -x '"\C-xj": __jarvis_ask_line'
  if ! complete -p jarvisctl >/dev/null 2>&1 && command -v jarvisctl >/dev/null 2>&1; then
    source <(jarvisctl --generate-completion-script bash)
  fi
fi
