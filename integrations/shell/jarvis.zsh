# Jarvis for zsh. Source it from ~/.zshrc (after compinit):
#   source ~/.local/share/jarvis/integrations/shell/jarvis.zsh
# Ctrl-X j sends the command line as a question; the answer prints above the prompt and the
# line stays as it was. The questions of one shell are one chat session ($JARVIS_SHELL_SESSION,
# shell-PID-RANDOM by default), so a question can refer to the ones before it; `jarvisctl
# sessions` lists them. Also loads jarvisctl's completion (entry names come from jarvisd).

: "${JARVIS_SHELL_SESSION:=shell-$$-$RANDOM}"

jarvis-ask-line() {
  local question=$BUFFER
  [[ -z ${question//[[:space:]]/} ]] && return 0
  zle -I
  print
  jarvisctl ask --session "$JARVIS_SHELL_SESSION" -- "$question"
}
zle -N jarvis-ask-line
bindkey '^Xj' jarvis-ask-line

if (( $+commands[jarvisctl] )); then
  (( $+functions[compdef] )) || { autoload -Uz compinit && compinit -u }
  source <(jarvisctl --generate-completion-script zsh)
  compdef _jarvisctl jarvisctl
fi
