function __rnn-classify_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __rnn-classify_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __rnn-classify_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __rnn-classify_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __rnn-classify_parse_tokens -S
    set -l unparsed_tokens (__rnn-classify_tokens -pc)
    switch $unparsed_tokens[1]
    case 'rnn-classify'
        __rnn-classify_parse_subcommand -r 1 'm/model=' 'format=' 'input-format=' 'threshold=' 'top-k=' 'no-text' 'metrics' 'metrics-json=' 'max-length=' 'batch-size=' 'threads=' 'q/quiet' 'h/help'
        switch $unparsed_tokens[1]
        case 'help'
            __rnn-classify_parse_subcommand -r 1 
        end
    end
end

function __rnn-classify_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __rnn-classify_parse_subcommand -S -a positional_count
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

function __rnn-classify_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __rnn-classify_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__rnn-classify_tokens -p)
    if test -z "$(__rnn-classify_tokens -t)"
        set -l index (count (__rnn-classify_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'rnn-classify' -f
complete -c 'rnn-classify' -n '__rnn-classify_should_offer_completions_for_flags_or_options "rnn-classify" m model' -s 'm' -l 'model' -d 'Classifier checkpoint (rnn-fit output, or a PyTorch export with the documented metadata).' -rfka ''
complete -c 'rnn-classify' -n '__rnn-classify_should_offer_completions_for_flags_or_options "rnn-classify" format' -l 'format' -d 'Output format: jsonl (one JSON object per record) or tsv (label, prob, id).' -rfka ''
complete -c 'rnn-classify' -n '__rnn-classify_should_offer_completions_for_flags_or_options "rnn-classify" input-format' -l 'input-format' -d 'Input format: auto, jsonl or text (auto: JSON Lines when the first line starts with \'{\').' -rfka ''
complete -c 'rnn-classify' -n '__rnn-classify_should_offer_completions_for_flags_or_options "rnn-classify" threshold' -l 'threshold' -d 'Two labels: predict the second label when its probability is above this (default 0.5).' -rfka ''
complete -c 'rnn-classify' -n '__rnn-classify_should_offer_completions_for_flags_or_options "rnn-classify" top-k' -l 'top-k' -d 'More than two labels: list only the K most probable labels in probs.' -rfka ''
complete -c 'rnn-classify' -n '__rnn-classify_should_offer_completions_for_flags_or_options "rnn-classify" no-text' -l 'no-text' -d 'Drop the text member from the JSON output.'
complete -c 'rnn-classify' -n '__rnn-classify_should_offer_completions_for_flags_or_options "rnn-classify" metrics' -l 'metrics' -d 'Records that carry a label: print accuracy, loss, per-class precision/recall/F1 and the confusion matrix on stderr at the end.'
complete -c 'rnn-classify' -n '__rnn-classify_should_offer_completions_for_flags_or_options "rnn-classify" metrics-json' -l 'metrics-json' -d 'Write the metrics as JSON to this file.' -rfka ''
complete -c 'rnn-classify' -n '__rnn-classify_should_offer_completions_for_flags_or_options "rnn-classify" max-length' -l 'max-length' -d 'Keep at most N tokens per record (default: the training data\'s fixed length from the checkpoint; 0: all, packed).' -rfka ''
complete -c 'rnn-classify' -n '__rnn-classify_should_offer_completions_for_flags_or_options "rnn-classify" batch-size' -l 'batch-size' -d 'Largest number of records classified together.' -rfka ''
complete -c 'rnn-classify' -n '__rnn-classify_should_offer_completions_for_flags_or_options "rnn-classify" threads' -l 'threads' -d 'Threads (default: the CPUs this process may use: its affinity mask and cgroup CPU quota). The output does not depend on it (nor on --batch-size).' -rfka ''
complete -c 'rnn-classify' -n '__rnn-classify_should_offer_completions_for_flags_or_options "rnn-classify" q quiet' -l 'quiet' -s 'q' -d 'Do not print the summary line on stderr.'
complete -c 'rnn-classify' -n '__rnn-classify_should_offer_completions_for_flags_or_options "rnn-classify" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'rnn-classify' -n '__rnn-classify_should_offer_completions_for_positional "rnn-classify" -eq 1' -fa 'help' -d 'Show subcommand help information.'
