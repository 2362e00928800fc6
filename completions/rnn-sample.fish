function __rnn-sample_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __rnn-sample_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __rnn-sample_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __rnn-sample_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __rnn-sample_parse_tokens -S
    set -l unparsed_tokens (__rnn-sample_tokens -pc)
    switch $unparsed_tokens[1]
    case 'rnn-sample'
        __rnn-sample_parse_subcommand -r 1 'm/model=' 'temp=' 'top-k=' 'prime=' 'length=' 'seed=' 'n=' 'threads=' 'score' 'reset' 'h/help'
        switch $unparsed_tokens[1]
        case 'help'
            __rnn-sample_parse_subcommand -r 1 
        end
    end
end

function __rnn-sample_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __rnn-sample_parse_subcommand -S -a positional_count
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

function __rnn-sample_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __rnn-sample_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__rnn-sample_tokens -p)
    if test -z "$(__rnn-sample_tokens -t)"
        set -l index (count (__rnn-sample_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'rnn-sample' -f
complete -c 'rnn-sample' -n '__rnn-sample_should_offer_completions_for_flags_or_options "rnn-sample" m model' -s 'm' -l 'model' -d 'Language-model checkpoint written by \'rnn-fit --lm\'.' -rfka ''
complete -c 'rnn-sample' -n '__rnn-sample_should_offer_completions_for_flags_or_options "rnn-sample" temp' -l 'temp' -d 'Temperature: logits are divided by it before sampling; 0 = greedy (always the most likely character).' -rfka ''
complete -c 'rnn-sample' -n '__rnn-sample_should_offer_completions_for_flags_or_options "rnn-sample" top-k' -l 'top-k' -d 'Draw only from the k most likely characters (0: all).' -rfka ''
complete -c 'rnn-sample' -n '__rnn-sample_should_offer_completions_for_flags_or_options "rnn-sample" prime' -l 'prime' -d 'Text (UTF-8) run through the model first and echoed.' -rfka ''
complete -c 'rnn-sample' -n '__rnn-sample_should_offer_completions_for_flags_or_options "rnn-sample" length' -l 'length' -d 'Characters to generate per sample (the prime not counted).' -rfka ''
complete -c 'rnn-sample' -n '__rnn-sample_should_offer_completions_for_flags_or_options "rnn-sample" seed' -l 'seed' -d 'Random seed (default: a different one every run).' -rfka ''
complete -c 'rnn-sample' -n '__rnn-sample_should_offer_completions_for_flags_or_options "rnn-sample" n' -s 'n' -d 'Number of independent samples.' -rfka ''
complete -c 'rnn-sample' -n '__rnn-sample_should_offer_completions_for_flags_or_options "rnn-sample" threads' -l 'threads' -d 'Threads (default: the CPUs this process may use: its affinity mask and cgroup CPU quota). The output does not depend on it.' -rfka ''
complete -c 'rnn-sample' -n '__rnn-sample_should_offer_completions_for_flags_or_options "rnn-sample" score' -l 'score' -d 'Score text instead of sampling: per-line loss in nats and bits per character.'
complete -c 'rnn-sample' -n '__rnn-sample_should_offer_completions_for_flags_or_options "rnn-sample" reset' -l 'reset' -d 'With --score: score every line from a fresh state.'
complete -c 'rnn-sample' -n '__rnn-sample_should_offer_completions_for_flags_or_options "rnn-sample" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'rnn-sample' -n '__rnn-sample_should_offer_completions_for_positional "rnn-sample" -eq 1' -fa 'help' -d 'Show subcommand help information.'
