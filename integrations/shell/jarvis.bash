# Jarvis for bash. Source it from ~/.bashrc:
#   source ~/.local/share/jarvis/integrations/shell/jarvis.bash
# Ctrl-X j sends the command line as a question; the answer prints above the prompt and the
# line stays as it was. The questions of one shell are one chat session ($JARVIS_SHELL_SESSION,
# shell-PID-RANDOM by default), so a question can refer to the ones before it; `jarvisctl
# sessions` lists them. Also loads jarvisctl's completion (entry names come from jarvisd).

: "${JARVIS_SHELL_SESSION:=shell-$$-$RANDOM}"

__jarvis_ask_line() {
  local question=$READLINE_LINE
  [[ -z ${question//[[:space:]]/} ]] && return 0
  printf '\n'
  jarvisctl ask --session "$JARVIS_SHELL_SESSION" -- "$question"
}

if [[ $- == *i* ]]; then
  bind -x '"\C-xj": __jarvis_ask_line'
  if ! complete -p jarvisctl >/dev/null 2>&1 && command -v jarvisctl >/dev/null 2>&1; then
    source <(jarvisctl --generate-completion-script bash)
  fi
fi
