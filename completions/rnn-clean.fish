function __rnn-clean_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __rnn-clean_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __rnn-clean_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __rnn-clean_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __rnn-clean_parse_tokens -S
    set -l unparsed_tokens (__rnn-clean_tokens -pc)
    switch $unparsed_tokens[1]
    case 'rnn-clean'
        __rnn-clean_parse_subcommand -r 1 'format=' 'engine=' 'keep-case' 'punctuation=' 'remove=+' 'strict' 'o/output=' 'stats' 'h/help'
        switch $unparsed_tokens[1]
        case 'help'
            __rnn-clean_parse_subcommand -r 1 
        end
    end
end

function __rnn-clean_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __rnn-clean_parse_subcommand -S -a positional_count
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

function __rnn-clean_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __rnn-clean_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__rnn-clean_tokens -p)
    if test -z "$(__rnn-clean_tokens -t)"
        set -l index (count (__rnn-clean_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'rnn-clean' -f
complete -c 'rnn-clean' -n '__rnn-clean_should_offer_completions_for_flags_or_options "rnn-clean" format' -l 'format' -d 'Input format: auto (JSON Lines if the first non-blank line starts with \'{\'), jsonl or text.' -rfka 'auto jsonl text'
complete -c 'rnn-clean' -n '__rnn-clean_should_offer_completions_for_flags_or_options "rnn-clean" engine' -l 'engine' -d 'Implementation: pcre2 (Python\'s lowercasing, then the three substitutions as PCRE2 JIT regexes) or fused (one pass over the bytes, faster).' -rfka 'pcre2 fused'
complete -c 'rnn-clean' -n '__rnn-clean_should_offer_completions_for_flags_or_options "rnn-clean" keep-case' -l 'keep-case' -d 'Keep upper case (deviation from the reference).'
complete -c 'rnn-clean' -n '__rnn-clean_should_offer_completions_for_flags_or_options "rnn-clean" punctuation' -l 'punctuation' -d 'Punctuation: remove (reference: each becomes a space), separate (kept as its own token), keep.' -rfka 'remove separate keep'
complete -c 'rnn-clean' -n '__rnn-clean_should_offer_completions_for_flags_or_options "rnn-clean"' -l 'remove' -d 'Also replace every match of this PCRE2 regex by a space; repeatable.' -rfka ''
complete -c 'rnn-clean' -n '__rnn-clean_should_offer_completions_for_flags_or_options "rnn-clean" strict' -l 'strict' -d 'Fail on invalid UTF-8 (with its line number) instead of replacing it by U+FFFD.'
complete -c 'rnn-clean' -n '__rnn-clean_should_offer_completions_for_flags_or_options "rnn-clean" o output' -s 'o' -l 'output' -d 'Write to this file (appears only when complete) instead of standard output.' -rfka ''
complete -c 'rnn-clean' -n '__rnn-clean_should_offer_completions_for_flags_or_options "rnn-clean" stats' -l 'stats' -d 'Print records read, written and dropped, and the speed, on standard error.'
complete -c 'rnn-clean' -n '__rnn-clean_should_offer_completions_for_flags_or_options "rnn-clean" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'rnn-clean' -n '__rnn-clean_should_offer_completions_for_positional "rnn-clean" -eq 1' -fa 'help' -d 'Show subcommand help information.'
