function __jarvisctl_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __jarvisctl_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __jarvisctl_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __jarvisctl_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __jarvisctl_parse_tokens -S
    set -l unparsed_tokens (__jarvisctl_tokens -pc)
    switch $unparsed_tokens[1]
    case 'jarvisctl'
        __jarvisctl_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'ask'
            __jarvisctl_parse_subcommand -r 1 'socket=' 'json' 'mode=' 'max-tokens=' 'temperature=' 'image=' 'session=' 'version' 'h/help'
        case 'chat'
            __jarvisctl_parse_subcommand 0 'socket=' 'json' 'session=' 'new=' 'max-tokens=' 'temperature=' 'no-history' 'yes' 'no-proposals' 'version' 'h/help'
        case 'sessions'
            __jarvisctl_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'list'
                __jarvisctl_parse_subcommand 0 'socket=' 'json' 'version' 'h/help'
            case 'forget'
                __jarvisctl_parse_subcommand 1 'socket=' 'json' 'version' 'h/help'
            end
        case 'remember'
            __jarvisctl_parse_subcommand -r 1 'socket=' 'json' 'name=' 'alias=+' 'category=' 'note=' 'again' 'sync' 'version' 'h/help'
        case 'forget'
            __jarvisctl_parse_subcommand 1 'socket=' 'json' 'version' 'h/help'
        case 'list'
            __jarvisctl_parse_subcommand 0 'socket=' 'json' 'limit=' 'after=' 'version' 'h/help'
        case 'show'
            __jarvisctl_parse_subcommand 1 'socket=' 'json' 'image=' 'version' 'h/help'
        case 'search'
            __jarvisctl_parse_subcommand -r 1 'socket=' 'json' 'limit=' 'version' 'h/help'
        case 'update'
            __jarvisctl_parse_subcommand -r 2 'socket=' 'json' 'version' 'h/help'
        case 'edit'
            __jarvisctl_parse_subcommand 1 'socket=' 'json' 'version' 'h/help'
        case 'status'
            __jarvisctl_parse_subcommand 0 'socket=' 'json' 'version' 'h/help'
        case 'backup'
            __jarvisctl_parse_subcommand 1 'socket=' 'json' 'version' 'h/help'
        case 'export'
            __jarvisctl_parse_subcommand 1 'socket=' 'json' 'version' 'h/help'
        case 'import'
            __jarvisctl_parse_subcommand 1 'socket=' 'json' 'version' 'h/help'
        case 'models'
            __jarvisctl_parse_subcommand 0 'socket=' 'json' 'version' 'h/help'
        case 'mcp'
            __jarvisctl_parse_subcommand 0 'socket=' 'verbose' 'version' 'h/help'
        case 'help'
            __jarvisctl_parse_subcommand -r 1 'version'
        end
    end
end

function __jarvisctl_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __jarvisctl_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __jarvisctl_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __jarvisctl_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__jarvisctl_tokens -p)
    if test -z "$(__jarvisctl_tokens -t)"
        set -l index (count (__jarvisctl_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'jarvisctl' -f
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'ask' -d 'Ask a question; the answer streams as it is written.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'chat' -d 'Talk with Jarvis: a session that remembers its earlier turns.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'sessions' -d 'List or forget chat sessions.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'remember' -d 'Remember notes, text files, photos or whole directories.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'forget' -d 'Forget an entry, by id or name.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'list' -d 'List what Jarvis remembers.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'show' -d 'Show one entry in full.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'search' -d 'Find entries: ranked, with scores and a snippet; nothing is generated.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'update' -d 'Replace an entry\'s text; it is encoded again, in one transaction.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'edit' -d 'Edit an entry\'s text in $VISUAL or $EDITOR; it is encoded again on save.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'status' -d 'Show the daemon\'s model, store, queue and effective configuration.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'backup' -d 'Copy the store, compacted, into a directory while jarvisd serves.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'export' -d 'Write every entry as JSON Lines, for any model to read back.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'import' -d 'Remember again what `jarvisctl export` wrote, encoded for the current model.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'models' -d 'List the model files in the daemon\'s models directory, and which one it uses.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'mcp' -d 'Serve the Model Context Protocol on standard input and output, for editors and agents.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl ask" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl ask" json' -l 'json' -d 'Print the result as JSON, for scripts.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl ask" mode' -l 'mode' -d 'kv (default), text-rag, full or none.' -rfka 'kv text-rag full none'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl ask" max-tokens' -l 'max-tokens' -d 'Stop after this many tokens.' -rfka ''
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl ask" temperature' -l 'temperature' -d 'Sampling temperature; 0 (default) answers the same way every time.' -rfka ''
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl ask" image' -l 'image' -d 'Ask about this photo.' -rfa '(set -l exts \'jpg\' \'jpeg\' \'png\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl ask" session' -l 'session' -d 'Ask within this chat session (started if there is none of this name), so that the question can refer to its earlier turns.' -rfka '(__jarvisctl_custom_completion ---completion ask -- --session (count (__jarvisctl_tokens -pc)) (__jarvisctl_tokens -tC))'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl ask" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl ask" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl chat" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl chat" json' -l 'json' -d 'Print the result as JSON, for scripts.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl chat" session' -l 'session' -d 'Resume this session (it must exist; `jarvisctl sessions` lists them).' -rfka '(__jarvisctl_custom_completion ---completion chat -- --session (count (__jarvisctl_tokens -pc)) (__jarvisctl_tokens -tC))'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl chat" new' -l 'new' -d 'Start a new session with this name.' -rfka ''
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl chat" max-tokens' -l 'max-tokens' -d 'Stop each answer after this many tokens.' -rfka ''
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl chat" temperature' -l 'temperature' -d 'Sampling temperature; 0 (default) answers the same way every time.' -rfka ''
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl chat" no-history' -l 'no-history' -d 'Keep no line history on disk.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl chat" yes' -l 'yes' -d 'Make the memory changes Jarvis proposes without asking (for scripts).'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl chat" no-proposals' -l 'no-proposals' -d 'Propose no memory changes: every line is a question.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl chat" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl chat" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl sessions" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl sessions" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl sessions" -eq 1' -fa 'list' -d 'List chat sessions, most recently used first.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl sessions" -eq 1' -fa 'forget' -d 'Forget a chat session: its turns and its KV. Entries stay.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl sessions list" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl sessions list" json' -l 'json' -d 'Print the result as JSON, for scripts.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl sessions list" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl sessions list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl sessions forget" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl sessions forget" json' -l 'json' -d 'Print the result as JSON, for scripts.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl sessions forget" -eq 1' -fka '(__jarvisctl_custom_completion ---completion sessions forget -- positional@0 (count (__jarvisctl_tokens -pc)) (__jarvisctl_tokens -tC))'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl sessions forget" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl sessions forget" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl remember" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl remember" json' -l 'json' -d 'Print the result as JSON, for scripts.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl remember" name' -l 'name' -d 'A name to recall the entry by (one item only).' -rfka ''
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl remember"' -l 'alias' -d 'Another name for it (repeatable).' -rfka ''
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl remember" category' -l 'category' -d 'A category, such as person, pet, place or thing.' -rfka ''
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl remember" note' -l 'note' -d 'A note: remembered by itself, or attached to the files given.' -rfka ''
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl remember" again' -l 'again' -d 'Store items again even when their exact contents are stored already.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl remember" sync' -l 'sync' -d 'For directories: files changed since they were remembered replace their old entries; entries of files no longer there are listed.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl remember" -ge 1' -F
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl remember" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl remember" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl forget" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl forget" json' -l 'json' -d 'Print the result as JSON, for scripts.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl forget" -eq 1' -fka '(__jarvisctl_custom_completion ---completion forget -- positional@0 (count (__jarvisctl_tokens -pc)) (__jarvisctl_tokens -tC))'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl forget" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl forget" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl list" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl list" json' -l 'json' -d 'Print the result as JSON, for scripts.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl list" limit' -l 'limit' -d 'Show at most this many entries (a page; the last line, or `next` in --json, says where the next starts).' -rfka ''
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl list" after' -l 'after' -d 'Start after the entry with this id.' -rfka ''
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl list" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl show" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl show" json' -l 'json' -d 'Print the result as JSON, for scripts.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl show" -eq 1' -fka '(__jarvisctl_custom_completion ---completion show -- positional@0 (count (__jarvisctl_tokens -pc)) (__jarvisctl_tokens -tC))'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl show" image' -l 'image' -d 'For a photo: write it with its mined regions outlined and numbered, as PNG.' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'png\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl show" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl show" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl search" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl search" json' -l 'json' -d 'Print the result as JSON, for scripts.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl search" limit' -l 'limit' -d 'Show at most this many entries.' -rfka ''
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl search" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl search" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl update" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl update" json' -l 'json' -d 'Print the result as JSON, for scripts.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl update" -eq 1' -fka '(__jarvisctl_custom_completion ---completion update -- positional@0 (count (__jarvisctl_tokens -pc)) (__jarvisctl_tokens -tC))'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl update" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl update" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl edit" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl edit" json' -l 'json' -d 'Print the result as JSON, for scripts.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl edit" -eq 1' -fka '(__jarvisctl_custom_completion ---completion edit -- positional@0 (count (__jarvisctl_tokens -pc)) (__jarvisctl_tokens -tC))'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl edit" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl edit" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl status" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl status" json' -l 'json' -d 'Print the result as JSON, for scripts.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl status" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl status" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl backup" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl backup" json' -l 'json' -d 'Print the result as JSON, for scripts.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl backup" -eq 1' -fa '(__jarvisctl_complete_directories)'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl backup" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl backup" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl export" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl export" json' -l 'json' -d 'Print the result as JSON, for scripts.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl export" -eq 1' -fa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'jsonl\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl export" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl export" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl import" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl import" json' -l 'json' -d 'Print the result as JSON, for scripts.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_positional "jarvisctl import" -eq 1' -fa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'jsonl\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl import" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl import" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl models" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl models" json' -l 'json' -d 'Print the result as JSON, for scripts.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl models" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl models" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl mcp" socket' -l 'socket' -d 'jarvisd\'s socket (env JARVIS_SOCKET).' -rF
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl mcp" verbose' -l 'verbose' -d 'Also log the MCP SDK\'s debug messages to standard error.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl mcp" version' -l 'version' -d 'Show the version.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl mcp" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'jarvisctl' -n '__jarvisctl_should_offer_completions_for_flags_or_options "jarvisctl help" version' -l 'version' -d 'Show the version.'
