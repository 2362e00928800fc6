function __rnn-encode_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __rnn-encode_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __rnn-encode_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __rnn-encode_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __rnn-encode_parse_tokens -S
    set -l unparsed_tokens (__rnn-encode_tokens -pc)
    switch $unparsed_tokens[1]
    case 'rnn-encode'
        __rnn-encode_parse_subcommand -r 1 'vocab=' 'format=' 'o/output=' 'fix-length=' 'pad-first' 'truncate-first' 'h/help'
        switch $unparsed_tokens[1]
        case 'help'
            __rnn-encode_parse_subcommand -r 1 
        end
    end
end

function __rnn-encode_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __rnn-encode_parse_subcommand -S -a positional_count
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

function __rnn-encode_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __rnn-encode_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__rnn-encode_tokens -p)
    if test -z "$(__rnn-encode_tokens -t)"
        set -l index (count (__rnn-encode_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'rnn-encode' -f
complete -c 'rnn-encode' -n '__rnn-encode_should_offer_completions_for_flags_or_options "rnn-encode" vocab' -l 'vocab' -d 'Vocabulary file written by rnn-vocab.' -rfka ''
complete -c 'rnn-encode' -n '__rnn-encode_should_offer_completions_for_flags_or_options "rnn-encode" format' -l 'format' -d 'Input format: auto, jsonl or text (auto: JSON Lines when the first line starts with \'{\').' -rfka ''
complete -c 'rnn-encode' -n '__rnn-encode_should_offer_completions_for_flags_or_options "rnn-encode" o output' -l 'output' -s 'o' -d 'Write a binary encoded dataset to this file instead of JSON Lines to stdout.' -rfka ''
complete -c 'rnn-encode' -n '__rnn-encode_should_offer_completions_for_flags_or_options "rnn-encode" fix-length' -l 'fix-length' -d 'Keep at most N tokens per record and pad shorter ones to N.' -rfka ''
complete -c 'rnn-encode' -n '__rnn-encode_should_offer_completions_for_flags_or_options "rnn-encode" pad-first' -l 'pad-first' -d 'Put the pads before the real tokens (torchtext pad_first).'
complete -c 'rnn-encode' -n '__rnn-encode_should_offer_completions_for_flags_or_options "rnn-encode" truncate-first' -l 'truncate-first' -d 'Keep the last N tokens of a longer record instead of the first N.'
complete -c 'rnn-encode' -n '__rnn-encode_should_offer_completions_for_flags_or_options "rnn-encode" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'rnn-encode' -n '__rnn-encode_should_offer_completions_for_positional "rnn-encode" -eq 1' -fa 'help' -d 'Show subcommand help information.'
