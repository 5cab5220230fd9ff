#compdef jarvisctl

__jarvisctl_complete() {
    local -ar non_empty_completions=("${@:#(|:*)}")
    local -ar empty_completions=("${(M)@:#(|:*)}")
    _describe -V '' non_empty_completions -- empty_completions -P $'\'\''
}

__jarvisctl_custom_complete() {
    local -a completions
    completions=("${(@f)"$("${command_name}" "${@}" "${command_line[@]}")"}")
    if [[ "${#completions[@]}" -gt 1 ]]; then
        __jarvisctl_complete "${completions[@]:0:-1}"
    fi
}

__jarvisctl_cursor_index_in_current_word() {
    if [[ -z "${QIPREFIX}${IPREFIX}${PREFIX}" ]]; then
        printf 0
    else
        printf %s "${#${(z)LBUFFER}[-1]}"
    fi
}

_jarvisctl() {
    emulate -RL zsh -G
    setopt extendedglob nullglob numericglobsort
    unsetopt aliases banghist

    local -xr SAP_SHELL=zsh
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(builtin emulate zsh -c 'printf %s "${ZSH_VERSION}"')"
    local -r SAP_SHELL_VERSION

    local context state state_descr line
    local -A opt_args

    local -r command_name="${words[1]}"
    local -ar command_line=("${words[@]}")
    local -ir current_word_index="$((CURRENT - 1))"

    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'ask:Ask a question; the answer streams as it is written.'
            'chat:Talk with Jarvis: a session that remembers its earlier turns.'
            'sessions:List or forget chat sessions.'
            'remember:Remember notes, text files, photos or whole directories.'
            'forget:Forget an entry, by id or name.'
            'list:List what Jarvis remembers.'
            'show:Show one entry in full.'
            'search:Find entries: ranked, with scores and a snippet; nothing is generated.'
            'update:Replace an entry'\''s text; it is encoded again, in one transaction.'
            'edit:Edit an entry'\''s text in $VISUAL or $EDITOR; it is encoded again on save.'
            'status:Show the daemon'\''s model, store, queue and effective configuration.'
            'backup:Copy the store, compacted, into a directory while jarvisd serves.'
            'export:Write every entry as JSON Lines, for any model to read back.'
            'import:Remember again what `jarvisctl export` wrote, encoded for the current model.'
            'models:List the model files in the daemon'\''s models directory, and which one it uses.'
            'mcp:Serve the Model Context Protocol on standard input and output, for editors and agents.'
            'help:Show subcommand help information.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        ask|chat|sessions|remember|forget|list|show|search|update|edit|status|backup|export|import|models|mcp|help)
            "_jarvisctl_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_jarvisctl_ask() {
    local -i ret=1
    local -ar ___mode=('kv' 'text-rag' 'full' 'none')
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--json[Print the result as JSON, for scripts.]'
        '--mode[kv (default), text-rag, full or none.]:mode:{__jarvisctl_complete "${___mode[@]}"}'
        '--max-tokens[Stop after this many tokens.]:max-tokens:'
        '--temperature[Sampling temperature; 0 (default) answers the same way every time.]:temperature:'
        '--image[Ask about this photo.]:path:_files -g '\''*.jpg *.jpeg *.png'\'''
        '--session[Ask within this chat session (started if there is none of this name), so that the question can refer to its earlier turns.]:name:{__jarvisctl_custom_complete ---completion ask -- --session "${current_word_index}" "$(__jarvisctl_cursor_index_in_current_word)"}'
        '*:question:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_chat() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--json[Print the result as JSON, for scripts.]'
        '--session[Resume this session (it must exist; `jarvisctl sessions` lists them).]:name:{__jarvisctl_custom_complete ---completion chat -- --session "${current_word_index}" "$(__jarvisctl_cursor_index_in_current_word)"}'
        '--new[Start a new session with this name.]:name:'
        '--max-tokens[Stop each answer after this many tokens.]:max-tokens:'
        '--temperature[Sampling temperature; 0 (default) answers the same way every time.]:temperature:'
        '--no-history[Keep no line history on disk.]'
        '--yes[Make the memory changes Jarvis proposes without asking (for scripts).]'
        '--no-proposals[Propose no memory changes\: every line is a question.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_sessions() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'list:List chat sessions, most recently used first.'
            'forget:Forget a chat session: its turns and its KV. Entries stay.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        list|forget)
            "_jarvisctl_sessions_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_jarvisctl_sessions_list() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--json[Print the result as JSON, for scripts.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_sessions_forget() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--json[Print the result as JSON, for scripts.]'
        ':name:{__jarvisctl_custom_complete ---completion sessions forget -- positional@0 "${current_word_index}" "$(__jarvisctl_cursor_index_in_current_word)"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_remember() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--json[Print the result as JSON, for scripts.]'
        '--name[A name to recall the entry by (one item only).]:name:'
        '*--alias[Another name for it (repeatable).]:alias:'
        '--category[A category, such as person, pet, place or thing.]:category:'
        '--note[A note\: remembered by itself, or attached to the files given.]:note:'
        '--again[Store items again even when their exact contents are stored already.]'
        '--sync[For directories\: files changed since they were remembered replace their old entries; entries of files no longer there are listed.]'
        '*:item:_files'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_forget() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--json[Print the result as JSON, for scripts.]'
        ':entry:{__jarvisctl_custom_complete ---completion forget -- positional@0 "${current_word_index}" "$(__jarvisctl_cursor_index_in_current_word)"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_list() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--json[Print the result as JSON, for scripts.]'
        '--limit[Show at most this many entries (a page; the last line, or `next` in --json, says where the next starts).]:limit:'
        '--after[Start after the entry with this id.]:id:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_show() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--json[Print the result as JSON, for scripts.]'
        ':entry:{__jarvisctl_custom_complete ---completion show -- positional@0 "${current_word_index}" "$(__jarvisctl_cursor_index_in_current_word)"}'
        '--image[For a photo\: write it with its mined regions outlined and numbered, as PNG.]:file.png:_files -g '\''*.png'\'''
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_search() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--json[Print the result as JSON, for scripts.]'
        '--limit[Show at most this many entries.]:limit:'
        '*:query:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_update() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--json[Print the result as JSON, for scripts.]'
        ':entry:{__jarvisctl_custom_complete ---completion update -- positional@0 "${current_word_index}" "$(__jarvisctl_cursor_index_in_current_word)"}'
        '*:text:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_edit() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--json[Print the result as JSON, for scripts.]'
        ':entry:{__jarvisctl_custom_complete ---completion edit -- positional@0 "${current_word_index}" "$(__jarvisctl_cursor_index_in_current_word)"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_status() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--json[Print the result as JSON, for scripts.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_backup() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--json[Print the result as JSON, for scripts.]'
        ':dir:_files -/'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_export() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--json[Print the result as JSON, for scripts.]'
        ':file:_files -g '\''*.jsonl'\'''
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_import() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--json[Print the result as JSON, for scripts.]'
        ':file:_files -g '\''*.jsonl'\'''
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_models() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--json[Print the result as JSON, for scripts.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_mcp() {
    local -i ret=1
    local -ar arg_specs=(
        '--socket[jarvisd'\''s socket (env JARVIS_SOCKET).]:path:_files'
        '--verbose[Also log the MCP SDK'\''s debug messages to standard error.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_jarvisctl_help() {
    local -i ret=1
    local -ar arg_specs=(
        '*:subcommands:'
        '--version[Show the version.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

if [[ "${funcstack[1]}" = _jarvisctl ]]; then
    _jarvisctl "${@}"
else
    compdef _jarvisctl jarvisctl
fi
