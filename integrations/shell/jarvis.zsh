# Jarvis for zsh. Source it from ~/.zshrc (after compinit):
#   source ~/.local/share/jarvis/integrations/shell/jarvis.zsh
# Ctrl-X j sends the command line as a question; the answer prints above the prompt and the
# line stays as it was. Also loads jarvisctl's completion (entry names come from jarvisd).

jarvis-ask-line() {
  local question=$BUFFER
  [[ -z ${question//[[:space:]]/} ]] && return 0
  zle -I
  print
  jarvisctl ask -- "$question"
}
zle -N jarvis-ask-line
bindkey '^Xj' jarvis-ask-line

if (( $+commands[jarvisctl] )); then
  (( $+functions[compdef] )) || { autoload -Uz compinit && compinit -u }
  source <(jarvisctl --generate-completion-script zsh)
  compdef _jarvisctl jarvisctl
fi
