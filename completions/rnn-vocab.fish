function __rnn-vocab_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __rnn-vocab_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __rnn-vocab_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __rnn-vocab_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __rnn-vocab_parse_tokens -S
    set -l unparsed_tokens (__rnn-vocab_tokens -pc)
    switch $unparsed_tokens[1]
    case 'rnn-vocab'
        __rnn-vocab_parse_subcommand -r 1 'format=' 'o/output=' 'min-freq=' 'max-size=' 'vectors=' 'chars' 'h/help'
        switch $unparsed_tokens[1]
        case 'help'
            __rnn-vocab_parse_subcommand -r 1 
        end
    end
end

function __rnn-vocab_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __rnn-vocab_parse_subcommand -S -a positional_count
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

function __rnn-vocab_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __rnn-vocab_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__rnn-vocab_tokens -p)
    if test -z "$(__rnn-vocab_tokens -t)"
        set -l index (count (__rnn-vocab_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'rnn-vocab' -f
complete -c 'rnn-vocab' -n '__rnn-vocab_should_offer_completions_for_flags_or_options "rnn-vocab" format' -l 'format' -d 'Input format: auto, jsonl or text (auto: JSON Lines when the first line starts with \'{\').' -rfka ''
complete -c 'rnn-vocab' -n '__rnn-vocab_should_offer_completions_for_flags_or_options "rnn-vocab" o output' -l 'output' -s 'o' -d 'Output vocabulary file (written atomically).' -rfka ''
complete -c 'rnn-vocab' -n '__rnn-vocab_should_offer_completions_for_flags_or_options "rnn-vocab" min-freq' -l 'min-freq' -d 'Keep tokens seen at least this many times.' -rfka ''
complete -c 'rnn-vocab' -n '__rnn-vocab_should_offer_completions_for_flags_or_options "rnn-vocab" max-size' -l 'max-size' -d 'Keep at most this many tokens (specials not counted).' -rfka ''
complete -c 'rnn-vocab' -n '__rnn-vocab_should_offer_completions_for_flags_or_options "rnn-vocab" vectors' -l 'vectors' -d 'Attach pretrained vectors from a GloVe text file (.txt or .gz) or a word2vec/fastText .vec file.' -rfka ''
complete -c 'rnn-vocab' -n '__rnn-vocab_should_offer_completions_for_flags_or_options "rnn-vocab" chars' -l 'chars' -d 'Build a character vocabulary (Unicode scalars) for language models.'
complete -c 'rnn-vocab' -n '__rnn-vocab_should_offer_completions_for_flags_or_options "rnn-vocab" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'rnn-vocab' -n '__rnn-vocab_should_offer_completions_for_positional "rnn-vocab" -eq 1' -fa 'help' -d 'Show subcommand help information.'
